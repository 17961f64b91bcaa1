"""What an incoming message may hold (invariant I10): refused before any store sees it, with the reason."""

from __future__ import annotations

import pytest

from dispatcher_core import IncomingMessage
from dispatcher_core.entities.limits import (
    MAX_ID_LENGTH,
    MAX_KIND_LENGTH,
    MAX_NAME_LENGTH,
    MAX_TEXT_LENGTH,
    storable_problem,
)
from dispatcher_core.errors import InvalidInput

GOOD = {"business_number_id": "B", "customer_id": "C", "external_id": "wamid.1", "kind": "text"}


def incoming(**changes: str) -> IncomingMessage:
    fields = {**GOOD, **changes}
    return IncomingMessage(
        business_number_id=fields["business_number_id"],
        customer_id=fields["customer_id"],
        external_id=fields["external_id"],
        kind=fields["kind"],
        text=fields.get("text"),
        customer_name=fields.get("customer_name"),
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"text": "hi \ud800"}, "text is not valid Unicode"),
        ({"text": "a\x00b"}, "text contains a NUL character"),
        ({"text": "x" * (MAX_TEXT_LENGTH + 1)}, f"text longer than {MAX_TEXT_LENGTH}"),
        ({"customer_name": "\udfff"}, "customer_name is not valid Unicode"),
        ({"customer_name": "n" * (MAX_NAME_LENGTH + 1)}, "customer_name longer"),
        ({"external_id": "w" * (MAX_ID_LENGTH + 1)}, "external_id longer"),
        ({"customer_id": "1\x00"}, "customer_id contains a NUL"),
        ({"business_number_id": "\ud83d"}, "business_number_id is not valid Unicode"),
        ({"kind": "k" * (MAX_KIND_LENGTH + 1)}, "kind longer"),
    ],
)
def test_unstorable_fields_are_refused(change: dict[str, str], reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        incoming(**change)


def test_what_real_customers_send_is_accepted() -> None:
    message = incoming(
        text="Ça va ? \N{FACE WITH OPEN MOUTH} \U0001f1eb\U0001f1f7 " + "x" * 4000,
        customer_name="Zoë \u200d",
    )
    assert message.text is not None
    assert storable_problem("x" * MAX_ID_LENGTH, MAX_ID_LENGTH) is None
