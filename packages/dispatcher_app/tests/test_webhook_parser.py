"""The webhook parser against every real payload of ../shared/whatsapp-payloads, and against garbage."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatcher_app.webhooks.parser import ParsedBatch, WhatsAppError, parse_webhook
from dispatcher_core import IncomingMessage

PAYLOADS = Path(__file__).resolve().parents[3].parent / "shared" / "whatsapp-payloads"
BUSINESS = "1122334455667"
CUSTOMER = "972987654321"


def parsed(name: str) -> ParsedBatch:
    return parse_webhook(json.loads((PAYLOADS / name).read_bytes()))


def only_message(batch: ParsedBatch) -> IncomingMessage:
    assert len(batch.messages) == 1, batch
    assert batch.statuses == ()
    assert batch.unknown == 0
    return batch.messages[0]


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@pytest.mark.parametrize(
    ("name", "external_id", "kind", "text", "sent_at"),
    [
        ("01_text_message.json", "wamid.xyzxyz", "text", "Body Text", 1697043223),
        ("02_image_message.json", "wamid.xyzxyz", "image", None, 1697043379),
        ("03_audio_voice_message.json", "wamid.xyzxyz", "audio", None, 1697043473),
        ("04_location_message.json", "wamid.xyzxyz", "location", "(12.25089, 43.90539)", 1697044557),
        ("05_contacts_message.json", "wamid.xyzxyz", "contacts", "Chandler Bing, Monica, Rachel Green", 1697044621),
        ("06_interactive_button_reply.json", "wamid.xyzxyz", "interactive", "title", 1698266730),
        ("07_interactive_list_reply.json", "wamid.zyzxyz", "interactive", "title", 1698266905),
        ("08_button_template_quick_reply.json", "wamid.xsidjw", "button", "title", 1698269027),
        ("09_reaction_message.json", "wamid.xyzxyz", "reaction", "\N{FACE WITH OPEN MOUTH}", 1697044456),
        ("10_unsupported_message_131051.json", "wamid.xyzxyz", "unsupported", None, 1697044706),
    ],
)
def test_single_customer_messages(name: str, external_id: str, kind: str, text: str | None, sent_at: int) -> None:
    batch = parsed(name)
    assert only_message(batch) == IncomingMessage(
        business_number_id=BUSINESS,
        customer_id=CUSTOMER,
        external_id=external_id,
        kind=kind,
        text=text,
        customer_name="Test Name",
        sent_at=at(sent_at),
    )
    assert batch.errors == ()


def test_system_message_without_contacts_has_no_customer_name() -> None:
    message = only_message(parsed("11_system_user_changed_number.json"))
    assert message.kind == "system"
    assert message.customer_id == CUSTOMER
    assert message.customer_name is None
    assert message.text == "User A changed from 972987654321 to 972912345678"


def test_value_level_errors_next_to_an_interactive_message_without_body() -> None:
    batch = parsed("12_value_level_errors_131000.json")
    message = only_message(batch)
    assert (message.kind, message.text, message.external_id) == ("interactive", None, "wamid.wegrchytvwcggt=")
    assert batch.errors == (
        WhatsAppError(
            code=131000,
            title="Something went wrong",
            message="Something went wrong",
            details="Unsupported webhook payload",
        ),
    )


def test_sent_status_with_pricing() -> None:
    batch = parsed("13_status_sent_with_pricing.json")
    assert batch.messages == ()
    (status,) = batch.statuses
    assert (status.message_id, status.status, status.recipient_id) == ("wamid.xyzxyz", "sent", CUSTOMER)
    assert (status.pricing_category, status.billable, status.at) == ("service", True, at(1698266945))
    assert status.business_number_id == BUSINESS
    assert status.errors == ()


def test_failed_status_with_errors() -> None:
    (status,) = parsed("14_status_failed_130472.json").statuses
    assert status.status == "failed"
    assert [error.code for error in status.errors] == [130472]
    assert status.errors[0].details == (
        "Failed to send message because this user's phone number is part of an experiment"
    )


def test_batch_of_two_changes_yields_both_messages_even_with_the_same_id() -> None:
    batch = parsed("15_batch_two_changes_two_text_messages.json")
    assert [(m.external_id, m.text, m.sent_at) for m in batch.messages] == [
        ("wamid.ID", "MESSAGE_BODY", at(1669233778)),
        ("wamid.ID", "MESSAGE_BODY2", at(1669233779)),
    ]
    assert {(m.business_number_id, m.customer_id, m.customer_name) for m in batch.messages} == {
        ("PHONE_NUMBER_ID", "PHONE_NUMBER", "NAME")
    }


def test_every_payload_file_is_covered_by_a_test() -> None:
    """A new vector in the shared directory must get its expectations here."""
    assert len(sorted(PAYLOADS.glob("*.json"))) == 15


def test_sender_known_only_by_user_id_and_other_fields_are_counted_unknown() -> None:
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "metadata": {"phone_number_id": "B1"},
                            "contacts": [{"profile": {"name": "Ann"}, "user_id": "US.1"}],
                            "messages": [
                                {"user_id": "US.1", "id": "m1", "type": "text", "text": {"body": "hi"}},
                                {"id": "m2", "type": "text"},  # no sender: unknown
                                "not an object",
                            ],
                            "statuses": [{"id": "s1"}],  # no status value: unknown
                        },
                    },
                    {"field": "message_template_status_update", "value": {}},
                    {"field": "messages", "value": {"messages": []}},  # no metadata: unknown
                ]
            },
            {"no": "changes"},
        ],
    }
    batch = parse_webhook(body)
    assert [(m.customer_id, m.customer_name, m.text, m.sent_at) for m in batch.messages] == [
        ("US.1", "Ann", "hi", None)
    ]
    assert batch.unknown == 6


@pytest.mark.parametrize(
    "body", [None, [], "text", 3, {}, {"object": "page", "entry": []}, {"object": "whatsapp_business_account"}]
)
def test_bodies_of_another_shape_are_one_unknown_item(body: object) -> None:
    assert parse_webhook(body) == ParsedBatch(unknown=1)


json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=30,
)
keys = st.sampled_from(
    [
        "object",
        "entry",
        "changes",
        "field",
        "value",
        "metadata",
        "phone_number_id",
        "messages",
        "statuses",
        "contacts",
        "errors",
        "id",
        "from",
        "type",
        "text",
        "body",
        "timestamp",
    ]
)
shaped: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.integers() | st.text(max_size=6) | st.just("messages") | st.just("whatsapp_business_account"),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(keys, children, max_size=5),
    max_leaves=40,
)


@given(st.one_of(json_values, shaped))
def test_never_raises_on_any_json(body: Any) -> None:
    batch = parse_webhook(body)
    assert batch.unknown >= 0
    assert all(message.external_id and message.customer_id for message in batch.messages)
