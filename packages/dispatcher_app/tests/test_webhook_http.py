"""POST and GET /webhooks/whatsapp on a real server: every real payload, signatures, limits, batches, outages."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from dispatcher_adapters.memory import MemoryStore, MemoryUnitOfWork
from dispatcher_app.testing import AppHarness, signed_webhook_headers, text_message_body
from dispatcher_core.errors import StoreUnavailable

from .conftest import MakeHarness

pytestmark = pytest.mark.asyncio(loop_scope="module")

PAYLOADS = Path(__file__).resolve().parents[3].parent / "shared" / "whatsapp-payloads"

COUNTS = {"accepted": 0, "duplicates": 0, "invalid": 0, "statuses": 0, "errors": 0, "unknown": 0}
#: file -> (extra counts, stored messages as (external id, kind, text))
VECTORS: dict[str, tuple[dict[str, int], list[tuple[str, str, str | None]]]] = {
    "01_text_message.json": ({"accepted": 1}, [("wamid.xyzxyz", "text", "Body Text")]),
    "02_image_message.json": ({"accepted": 1}, [("wamid.xyzxyz", "image", None)]),
    "03_audio_voice_message.json": ({"accepted": 1}, [("wamid.xyzxyz", "audio", None)]),
    "04_location_message.json": ({"accepted": 1}, [("wamid.xyzxyz", "location", "(12.25089, 43.90539)")]),
    "05_contacts_message.json": (
        {"accepted": 1},
        [("wamid.xyzxyz", "contacts", "Chandler Bing, Monica, Rachel Green")],
    ),
    "06_interactive_button_reply.json": ({"accepted": 1}, [("wamid.xyzxyz", "interactive", "title")]),
    "07_interactive_list_reply.json": ({"accepted": 1}, [("wamid.zyzxyz", "interactive", "title")]),
    "08_button_template_quick_reply.json": ({"accepted": 1}, [("wamid.xsidjw", "button", "title")]),
    "09_reaction_message.json": ({"accepted": 1}, [("wamid.xyzxyz", "reaction", "\N{FACE WITH OPEN MOUTH}")]),
    "10_unsupported_message_131051.json": ({"accepted": 1}, [("wamid.xyzxyz", "unsupported", None)]),
    "11_system_user_changed_number.json": (
        {"accepted": 1},
        [("wamid.xyzxyz==", "system", "User A changed from 972987654321 to 972912345678")],
    ),
    "12_value_level_errors_131000.json": (
        {"accepted": 1, "errors": 1},
        [("wamid.wegrchytvwcggt=", "interactive", None)],
    ),
    "13_status_sent_with_pricing.json": ({"statuses": 1}, []),
    "14_status_failed_130472.json": ({"statuses": 1}, []),
    # both messages share the id wamid.ID: the parser yields two, deduplication keeps the first
    "15_batch_two_changes_two_text_messages.json": (
        {"accepted": 1, "duplicates": 1},
        [("wamid.ID", "text", "MESSAGE_BODY")],
    ),
}


async def stored_messages(h: AppHarness) -> list[tuple[str, str, str | None]]:
    """Every message of every pending conversation, through the admin routes."""
    pending = (await h.admin("GET", "/admin/pending")).json()
    found = []
    for conversation in pending["conversations"]:
        detail = (await h.admin("GET", f"/admin/conversations/{conversation['id']}")).json()
        found += [(m["external_id"], m["kind"], m["text"]) for m in detail["messages"]]
    return found


async def test_vectors_cover_every_payload_file() -> None:
    assert sorted(VECTORS) == sorted(path.name for path in PAYLOADS.glob("*.json"))


@pytest.mark.parametrize("name", sorted(VECTORS))
async def test_every_real_payload_signed_by_the_test(harness: AppHarness, name: str) -> None:
    """A fresh store per vector: the placeholder ids repeat across files (sources.md, trap 1)."""
    counts, messages = VECTORS[name]
    response = await harness.post_webhook((PAYLOADS / name).read_bytes())
    assert response.status_code == 200
    assert response.json() == {**COUNTS, **counts}
    assert await stored_messages(harness) == messages


async def test_handshake(harness: AppHarness) -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": "test-verify-token", "hub.challenge": "1158201444"}
    ok = await harness.http.get("/webhooks/whatsapp", params=params)
    assert (ok.status_code, ok.text) == (200, "1158201444")
    assert ok.headers["content-type"].startswith("text/plain")
    wrong = await harness.http.get("/webhooks/whatsapp", params={**params, "hub.verify_token": "nope"})
    assert wrong.status_code == 403
    not_subscribe = await harness.http.get("/webhooks/whatsapp", params={**params, "hub.mode": "unsubscribe"})
    assert not_subscribe.status_code == 403


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Hub-Signature-256": "sha256=" + "0" * 64},
        {"X-Hub-Signature-256": "not-a-signature"},
        signed_webhook_headers(b"another body"),
        signed_webhook_headers((PAYLOADS / "01_text_message.json").read_bytes(), "wrong-secret"),
    ],
    ids=["missing", "zeros", "malformed", "other-body", "other-secret"],
)
async def test_bad_signature_is_401_and_stores_nothing(harness: AppHarness, headers: dict[str, str]) -> None:
    body = (PAYLOADS / "01_text_message.json").read_bytes()
    response = await harness.http.post("/webhooks/whatsapp", content=body, headers=headers)
    assert response.status_code == 401
    assert "X-Hub-Signature-256" in response.json()["error"]
    assert await stored_messages(harness) == []
    assert (await harness.admin("GET", "/admin/stats")).json()["messages"]["webhook"]["accepted"] == 0


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe\x00garbage", b""])
async def test_signed_body_that_is_not_json_is_400(harness: AppHarness, body: bytes) -> None:
    response = await harness.post_webhook(body)
    assert (response.status_code, response.json()) == (400, {"error": "body is not JSON"})
    assert await stored_messages(harness) == []


async def test_too_large_is_413_with_or_without_content_length(make_harness: MakeHarness) -> None:
    async with make_harness(webhook_max_bytes=600) as h:
        body = text_message_body(business_number_id="B", customer_id="C", message_id="m", text="x" * 700)
        declared = await h.post_webhook(body)
        assert declared.status_code == 413

        async def chunks() -> AsyncIterator[bytes]:  # chunked transfer: no Content-Length to trust
            for start in range(0, len(body), 100):
                yield body[start : start + 100]

        streamed = await h.http.post("/webhooks/whatsapp", content=chunks(), headers=signed_webhook_headers(body))
        assert streamed.status_code == 413
        small = text_message_body(business_number_id="B", customer_id="C", message_id="m", text="fits")
        assert (await h.post_webhook(small)).json()["accepted"] == 1
        assert await stored_messages(h) == [("m", "text", "fits")]


def change(
    business: str, messages: list[dict[str, Any]], statuses: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    value: dict[str, Any] = {"metadata": {"phone_number_id": business}, "messages": messages}
    if statuses:
        value["statuses"] = statuses
    return {"field": "messages", "value": value}


def text(message_id: str, customer: str, body: str) -> dict[str, Any]:
    return {"from": customer, "id": message_id, "timestamp": "1700000000", "type": "text", "text": {"body": body}}


async def test_a_batch_is_processed_whole(harness: AppHarness) -> None:
    """Several entries, several changes each, several messages per change, statuses and other fields."""
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "waba-1",
                "changes": [
                    change("B1", [text("a1", "alice", "hello"), text("a2", "alice", "are you there?")]),
                    change("B1", [text("b1", "bob", "hi")], [{"id": "out-1", "status": "delivered"}]),
                ],
            },
            {
                "id": "waba-2",
                "changes": [
                    change("B2", [text("a1", "alice", "other number, same id"), text("b1", "bob", "again")]),
                    {"field": "account_update", "value": {}},
                ],
            },
        ],
    }
    response = await harness.post_webhook(json.dumps(body).encode())
    assert response.json() == {**COUNTS, "accepted": 5, "statuses": 1, "unknown": 1}
    by_customer = {}
    for conversation in (await harness.admin("GET", "/admin/pending")).json()["conversations"]:
        detail = (await harness.admin("GET", f"/admin/conversations/{conversation['id']}")).json()
        key = (detail["business_number_id"], detail["customer_id"])
        by_customer[key] = [m["text"] for m in detail["messages"]]
    assert by_customer == {
        ("B1", "alice"): ["hello", "are you there?"],
        ("B1", "bob"): ["hi"],
        ("B2", "alice"): ["other number, same id"],
        ("B2", "bob"): ["again"],
    }


async def test_a_redelivered_body_is_acknowledged_and_counted_as_duplicates(harness: AppHarness) -> None:
    body = text_message_body(business_number_id="B", customer_id="C", message_id="wamid.once", text="once")
    assert (await harness.post_webhook(body)).json()["accepted"] == 1
    again = await harness.post_webhook(body)
    assert again.status_code == 200
    assert again.json() == {**COUNTS, "duplicates": 1}
    assert await stored_messages(harness) == [("wamid.once", "text", "once")]
    assert (await harness.admin("GET", "/admin/stats")).json()["messages"]["webhook"]["duplicate"] == 1


@pytest.mark.parametrize("body", [[], {"object": "page", "entry": []}, {"object": "whatsapp_business_account"}, "x"])
async def test_unknown_shapes_are_acknowledged_and_counted(harness: AppHarness, body: object) -> None:
    response = await harness.post_webhook(json.dumps(body).encode())
    assert (response.status_code, response.json()) == (200, {**COUNTS, "unknown": 1})


class SwitchableStore:
    """A memory store whose units of work fail while ``down`` - the store being unreachable."""

    def __init__(self) -> None:
        self.inner = MemoryStore()
        self.down = False

    def unit_of_work(self) -> MemoryUnitOfWork:
        if self.down:
            raise StoreUnavailable("the test took the store down")
        return self.inner.unit_of_work()


async def test_store_down_is_503_then_the_retry_is_stored(make_harness: MakeHarness) -> None:
    store = SwitchableStore()
    async with make_harness(app_kwargs={"uow_factory": store.unit_of_work}) as h:
        body = text_message_body(business_number_id="B", customer_id="C", message_id="wamid.retry", text="retry me")
        store.down = True
        response = await h.post_webhook(body)
        assert response.status_code == 503
        assert (await h.http.get("/readyz")).status_code == 503
        assert (await h.admin("GET", "/admin/pending")).status_code == 503
        store.down = False
        assert (await h.post_webhook(body)).json() == {**COUNTS, "accepted": 1}
        assert await stored_messages(h) == [("wamid.retry", "text", "retry me")]


@pytest.mark.parametrize(
    "poison",
    [
        {"text": {"body": "\ud800"}},
        {"text": {"body": "a\x00b"}},
        {"id": "wamid." + "9" * 300},
        {"from": "1" * 300},
        {"id": "wamid.\udfff"},
    ],
    ids=["surrogate-text", "nul-text", "long-id", "long-sender", "surrogate-id"],
)
async def test_a_poisoned_message_is_rejected_alone(harness: AppHarness, poison: dict[str, Any]) -> None:
    """I10: the messages around it are stored, the answer is 200 with it counted invalid, a resend changes
    nothing, and the admin routes can show everything that was stored."""
    messages = [
        text("good-1", "alice", "before"),
        {**text("bad", "mallory", "x"), **poison},
        text("good-2", "bob", "after"),
    ]
    body = json.dumps({"object": "whatsapp_business_account", "entry": [{"changes": [change("B", messages)]}]}).encode()
    response = await harness.post_webhook(body)
    assert (response.status_code, response.json()) == (200, {**COUNTS, "accepted": 2, "invalid": 1})
    again = await harness.post_webhook(body)
    assert (again.status_code, again.json()) == (200, {**COUNTS, "duplicates": 2, "invalid": 1})
    assert sorted(await stored_messages(harness)) == [("good-1", "text", "before"), ("good-2", "text", "after")]
    assert (await harness.admin("GET", "/admin/conversations")).status_code == 200


async def test_a_surrogate_in_a_profile_name_rejects_that_message_only(harness: AppHarness) -> None:
    value = {
        "metadata": {"phone_number_id": "B"},
        "contacts": [{"profile": {"name": "Ann \ud800"}, "wa_id": "ann"}, {"profile": {"name": "Bob"}, "wa_id": "bob"}],
        "messages": [text("from-ann", "ann", "hi"), text("from-bob", "bob", "hello")],
    }
    body = json.dumps(
        {"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages", "value": value}]}]}
    )
    response = await harness.post_webhook(body.encode())
    assert response.json() == {**COUNTS, "accepted": 1, "invalid": 1}
    assert await stored_messages(harness) == [("from-bob", "text", "hello")]
