"""Turn a WhatsApp Cloud API webhook body into typed values: customer messages, delivery statuses, reported
errors, and a count of what we did not recognise.

Why so defensive: Meta batches (several entries, each with several changes, each with several messages and
statuses), adds fields without notice and sends shapes our fixtures show are easy to get wrong (no
``contacts`` array; an ``interactive`` message with no ``interactive`` body; ``value.errors`` next to
messages). Every item is read on its own; one we cannot use is counted in ``unknown`` and never raises, so
the webhook always acknowledges (a 5xx would make Meta resend the whole batch for days).

A message we recognise but cannot store as it is (text that is not valid Unicode, a NUL character, an id,
name or text over its limit: :mod:`dispatcher_core.entities.limits`) is *rejected*: it is reported in
``ParsedBatch.rejected`` with its id and the reason, on its own, and the other messages of the body are
unaffected (invariant I10). A status whose fields cannot be stored is counted in ``unknown``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from dispatcher_core import IncomingMessage
from dispatcher_core.entities.limits import MAX_ID_LENGTH, storable_problem
from dispatcher_core.errors import InvalidInput

__all__ = ["ParsedBatch", "RejectedMessage", "StatusUpdate", "WhatsAppError", "message_text", "parse_webhook"]

#: Longest text kept of what is only logged or reported (error titles and details); longer is cut.
_MAX_REPORTED = 1_024
#: Meta's limit for ``biz_opaque_callback_data``.
_MAX_REFERENCE = 512


@dataclass(frozen=True, slots=True)
class WhatsAppError:
    """An error Meta reports, at value level (``value.errors``), on a message or on a status."""

    code: int | None
    title: str | None
    message: str | None = None
    details: str | None = None


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """A delivery status of a message the business sent (``sent``, ``delivered``, ``read``, ``failed``...)."""

    business_number_id: str
    message_id: str
    status: str
    recipient_id: str | None
    at: datetime | None
    errors: tuple[WhatsAppError, ...] = ()
    pricing_category: str | None = None
    billable: bool | None = None
    #: ``biz_opaque_callback_data``: the reference the sender attached to the message, if any.
    reference: str | None = None


@dataclass(frozen=True, slots=True)
class RejectedMessage:
    """A message that cannot be stored as it is. ``external_id`` is its id as sent (it may itself be what is
    wrong: log it with ``%r``, which escapes what a log stream cannot encode)."""

    external_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class ParsedBatch:
    """Everything one webhook body holds, in body order. ``unknown`` counts items of a shape we do not handle
    (other webhook fields, messages without an id or a sender, non-object entries...); ``rejected`` the
    messages refused because they cannot be stored as they are."""

    messages: tuple[IncomingMessage, ...] = ()
    statuses: tuple[StatusUpdate, ...] = ()
    errors: tuple[WhatsAppError, ...] = ()
    unknown: int = 0
    rejected: tuple[RejectedMessage, ...] = ()


def _dict(value: object) -> Mapping[str, object]:
    return value if isinstance(value, dict) else {}


def _dicts(value: object) -> Iterator[Mapping[str, object] | None]:
    """The items of a JSON array; ``None`` for an item that is not an object (counted as unknown)."""
    if isinstance(value, list):
        for item in value:
            yield item if isinstance(item, dict) else None


def _str(value: object) -> str | None:
    """A non-empty string, or an integer as a string. Not checked: :class:`IncomingMessage` refuses what
    cannot be stored."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _reported(value: object) -> str | None:
    """A text that is only logged or reported, cut to a bounded length."""
    text = _str(value)
    return None if text is None else text[:_MAX_REPORTED]


def _storable(value: str | None, limit: int) -> bool:
    return value is None or storable_problem(value, limit) is None


def _timestamp(value: object) -> datetime | None:
    """Unix seconds, as a string (what Meta sends) or a number."""
    try:
        seconds = int(value) if isinstance(value, str | int) and not isinstance(value, bool) else None
        return None if seconds is None else datetime.fromtimestamp(seconds, UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _error(raw: Mapping[str, object]) -> WhatsAppError:
    code = raw.get("code")
    return WhatsAppError(
        code=code if isinstance(code, int) and not isinstance(code, bool) else None,
        title=_reported(raw.get("title")),
        message=_reported(raw.get("message")),
        details=_reported(_dict(raw.get("error_data")).get("details")),
    )


def _errors(value: object) -> tuple[WhatsAppError, ...]:
    return tuple(_error(item) for item in _dicts(value) if item is not None)


def _location_text(location: Mapping[str, object]) -> str | None:
    latitude, longitude = location.get("latitude"), location.get("longitude")
    parts = [text for text in (_str(location.get("name")), _str(location.get("address"))) if text]
    if isinstance(latitude, int | float) and isinstance(longitude, int | float):
        parts.append(f"({latitude}, {longitude})")
    return ", ".join(parts) or None


def _contacts_text(contacts: object) -> str | None:
    names = [_str(_dict(item.get("name")).get("formatted_name")) for item in _dicts(contacts) if item is not None]
    return ", ".join(name for name in names if name) or None


def _interactive_text(interactive: Mapping[str, object]) -> str | None:
    for key in ("button_reply", "list_reply"):
        reply = _dict(interactive.get(key))
        if reply:
            return _str(reply.get("title"))
    return _str(_dict(interactive.get("nfm_reply")).get("body"))


def message_text(kind: str, raw: Mapping[str, object]) -> str | None:
    """What an agent reads for a message: the text, a caption, the tapped button or list title, the reaction
    emoji, a location or contacts summary. ``None`` when the message carries no text (audio, sticker...)."""
    body = _dict(raw.get(kind))
    match kind:
        case "text":
            return _str(body.get("body"))
        case "image" | "video" | "document":
            return _str(body.get("caption")) or _str(body.get("filename"))
        case "button":
            return _str(body.get("text"))
        case "interactive":
            return _interactive_text(body)
        case "reaction":
            return _str(body.get("emoji"))
        case "location":
            return _location_text(body)
        case "contacts":
            return _contacts_text(raw.get("contacts"))
        case "system":
            return _str(body.get("body"))
        case "order":
            items = body.get("product_items")
            return f"order of {len(items)} item(s)" if isinstance(items, list) else None
        case _:
            return None


def _names(contacts: object) -> dict[str, str]:
    """Profile names by every id a contact has (``wa_id`` and the newer ``user_id``)."""
    names: dict[str, str] = {}
    for contact in _dicts(contacts):
        if contact is None:
            continue
        name = _str(_dict(contact.get("profile")).get("name"))
        if name is None:
            continue
        for key in ("wa_id", "user_id"):
            contact_id = _str(contact.get(key))
            if contact_id is not None:
                names[contact_id] = name
    return names


def _message(
    raw: Mapping[str, object], business_number_id: str, names: Mapping[str, str]
) -> IncomingMessage | RejectedMessage | None:
    external_id = _str(raw.get("id"))
    customer_id = _str(raw.get("from")) or _str(raw.get("user_id"))
    kind = _str(raw.get("type")) or "unknown"
    if external_id is None or customer_id is None:
        return None
    try:
        return IncomingMessage(
            business_number_id=business_number_id,
            customer_id=customer_id,
            external_id=external_id,
            kind=kind,
            text=message_text(kind, raw),
            customer_name=names.get(customer_id),
            sent_at=_timestamp(raw.get("timestamp")),
        )
    except InvalidInput as exc:
        return RejectedMessage(external_id[:MAX_ID_LENGTH], str(exc))


def _status(raw: Mapping[str, object], business_number_id: str) -> StatusUpdate | None:
    message_id, status = _str(raw.get("id")), _str(raw.get("status"))
    if message_id is None or status is None:
        return None
    recipient_id, reference = _str(raw.get("recipient_id")), _str(raw.get("biz_opaque_callback_data"))
    pricing = _dict(raw.get("pricing"))
    category = _str(pricing.get("category"))
    ids = (message_id, status, recipient_id, category)
    if not all(_storable(value, MAX_ID_LENGTH) for value in ids) or not _storable(reference, _MAX_REFERENCE):
        return None  # not a status Meta would send; nothing of it can be stored
    billable = pricing.get("billable")
    return StatusUpdate(
        business_number_id=business_number_id,
        message_id=message_id,
        status=status,
        recipient_id=recipient_id,
        at=_timestamp(raw.get("timestamp")),
        errors=_errors(raw.get("errors")),
        pricing_category=category,
        billable=billable if isinstance(billable, bool) else None,
        reference=reference,
    )


class _Collector:
    def __init__(self) -> None:
        self.messages: list[IncomingMessage] = []
        self.statuses: list[StatusUpdate] = []
        self.errors: list[WhatsAppError] = []
        self.rejected: list[RejectedMessage] = []
        self.unknown = 0

    def change(self, change: Mapping[str, object] | None) -> None:
        if change is None or change.get("field") != "messages":
            self.unknown += 1  # another webhook field (template status, account update...) or garbage
            return
        value = _dict(change.get("value"))
        business_number_id = _str(_dict(value.get("metadata")).get("phone_number_id"))
        if business_number_id is None or not _storable(business_number_id, MAX_ID_LENGTH):
            self.unknown += 1
            return
        names = _names(value.get("contacts"))
        self.errors.extend(_errors(value.get("errors")))
        for raw in _dicts(value.get("messages")):
            message = None if raw is None else _message(raw, business_number_id, names)
            if message is None:
                self.unknown += 1
            elif isinstance(message, RejectedMessage):
                self.rejected.append(message)
            else:
                self.messages.append(message)
        for raw in _dicts(value.get("statuses")):
            status = None if raw is None else _status(raw, business_number_id)
            if status is None:
                self.unknown += 1
            else:
                self.statuses.append(status)

    def batch(self) -> ParsedBatch:
        return ParsedBatch(
            tuple(self.messages), tuple(self.statuses), tuple(self.errors), self.unknown, tuple(self.rejected)
        )


def parse_webhook(body: object) -> ParsedBatch:
    """Every entry, change, message and status of a decoded webhook body. Never raises."""
    collector = _Collector()
    root = _dict(body)
    entries = root.get("entry")
    if root.get("object") != "whatsapp_business_account" or not isinstance(entries, list):
        return ParsedBatch(unknown=1)
    for entry in _dicts(entries):
        if entry is None or not isinstance(entry.get("changes"), list):
            collector.unknown += 1
            continue
        for change in _dicts(entry.get("changes")):
            collector.change(change)
    return collector.batch()
