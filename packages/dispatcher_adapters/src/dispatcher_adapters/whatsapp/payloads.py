"""The Cloud API's JSON, both ways: send requests out, status webhooks in. Serialisation lives here, at the
edge; the core's values carry none.

Send request (``POST /{phone-number-id}/messages``)::

    {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "33612345678",
     "biz_opaque_callback_data": "<our outbox id>", "type": "text", "text": {"body": "...", "preview_url": false}}

Status webhook: ``entry[].changes[].value.statuses[]``, each with ``id`` (the wamid), ``status``,
``timestamp`` (Unix seconds, as a string), ``recipient_id``, optionally ``biz_opaque_callback_data`` and
``errors``. Every entry, change and status of a batched POST is read, not only the first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, assert_never

from dispatcher_core.messaging.error_codes import GraphError
from dispatcher_core.messaging.outbound import OutboundMessage, OutboundStatus, TextContent
from dispatcher_core.messaging.parameters import (
    CurrencyParameter,
    DateTimeParameter,
    LocationParameter,
    TextParameter,
    VariableValue,
)
from dispatcher_core.messaging.template import (
    ButtonComponent,
    ButtonKind,
    HeaderComponent,
    HeaderFormat,
    TemplateMessage,
)

__all__ = ["StatusUpdate", "message_body", "parse_error", "parse_statuses", "template_body"]

JSON = dict[str, Any]

#: Webhook status values we track; "played" (a voice message was listened to) counts as read.
_STATUSES = {
    "sent": OutboundStatus.SENT,
    "delivered": OutboundStatus.DELIVERED,
    "read": OutboundStatus.READ,
    "played": OutboundStatus.READ,
    "failed": OutboundStatus.FAILED,
}


def message_body(message: OutboundMessage) -> JSON:
    body: JSON = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": message.to,
        "biz_opaque_callback_data": message.id,
    }
    content = message.content
    if isinstance(content, TextContent):
        body["type"] = "text"
        body["text"] = {"body": content.body, "preview_url": content.preview_url}
    elif isinstance(content, TemplateMessage):
        body["type"] = "template"
        body["template"] = template_body(content)
    else:
        assert_never(content)
    return body


def template_body(template: TemplateMessage) -> JSON:
    """Only what a send carries: name, language and the parameters. The template's own texts (header and
    body text, footer, labels) live on Meta's side and were only used for validation."""
    components: list[JSON] = []
    if template.header is not None:
        header = _header(template.header)
        if header is not None:
            components.append(header)
    if template.body is not None and template.body.parameters:
        components.append({"type": "body", "parameters": [_variable(value) for value in template.body.parameters]})
    for index, button in enumerate(template.buttons):
        parameter = _button_parameter(button)
        if parameter is None:
            continue  # a static button needs no component
        components.append(
            {"type": "button", "sub_type": button.kind.value, "index": str(index), "parameters": [parameter]}
        )
    body: JSON = {"name": template.name, "language": {"code": template.language}}
    if components:
        body["components"] = components
    return body


def _button_parameter(button: ButtonComponent) -> JSON | None:
    if button.kind is ButtonKind.QUICK_REPLY and button.payload is not None:
        return {"type": "payload", "payload": button.payload}
    if button.kind is ButtonKind.URL and button.url_suffix is not None:
        return _text(button.url_suffix)
    if button.kind is ButtonKind.COPY_CODE and button.coupon_code is not None:
        return {"type": "coupon_code", "coupon_code": button.coupon_code}
    if button.kind is ButtonKind.FLOW and button.flow_token is not None:
        return {"type": "action", "action": {"flow_token": button.flow_token}}
    return None


def _header(header: HeaderComponent) -> JSON | None:
    if header.format is HeaderFormat.TEXT:
        if not header.parameters:
            return None
        return {"type": "header", "parameters": [_variable(value) for value in header.parameters]}
    if header.format is HeaderFormat.LOCATION:
        if header.location is None:
            return None
        return {"type": "header", "parameters": [{"type": "location", "location": _location(header.location)}]}
    media: JSON = {"link": header.media_link} if header.media_link is not None else {"id": header.media_id}
    if header.filename is not None:
        media["filename"] = header.filename
    kind = header.format.value
    return {"type": "header", "parameters": [{"type": kind, kind: media}]}


def _text(value: str) -> JSON:
    return {"type": "text", "text": value}


def _variable(value: VariableValue) -> JSON:
    """One header/body parameter in Meta's shape, with ``parameter_name`` for a named variable."""
    name: str | None = None
    match value:
        case str():
            body = _text(value)
        case TextParameter(text=text, name=name):
            body = _text(text)
        case CurrencyParameter(fallback_value=fallback, code=code, amount_1000=amount, name=name):
            body = {"type": "currency", "currency": {"fallback_value": fallback, "code": code, "amount_1000": amount}}
        case DateTimeParameter(fallback_value=fallback, name=name):
            body = {"type": "date_time", "date_time": {"fallback_value": fallback}}
        case _:
            assert_never(value)
    if name is not None:
        body["parameter_name"] = name
    return body


def _location(location: LocationParameter) -> JSON:
    """Meta's template location: coordinates as strings (as in its reference), name and address if given."""
    body: JSON = {"latitude": str(location.latitude), "longitude": str(location.longitude)}
    if location.name is not None:
        body["name"] = location.name
    if location.address is not None:
        body["address"] = location.address
    return body


def parse_error(payload: object, http_status: int) -> GraphError:
    """A Graph error answer (``{"error": {"code": ..., "message": ...}}``); anything else becomes an error
    with no code and the HTTP status (e.g. a proxy's HTML 502 page)."""
    error = payload.get("error") if isinstance(payload, Mapping) else None
    if not isinstance(error, Mapping):
        return GraphError(code=None, http_status=http_status, title=f"HTTP {http_status} without a Graph error")
    data = error.get("error_data")
    return GraphError(
        code=_int(error.get("code")),
        http_status=http_status,
        title=str(error.get("message") or error.get("error_user_title") or "Graph API error"),
        subcode=_int(error.get("error_subcode")),
        details=str(data["details"]) if isinstance(data, Mapping) and "details" in data else None,
        fbtrace_id=str(error["fbtrace_id"]) if "fbtrace_id" in error else None,
    )


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """One status of a status webhook. ``status`` is ``None`` for values we do not track (e.g. ``deleted``);
    ``raw_status`` keeps what Meta sent; ``at`` is ``None`` when the timestamp is missing or unreadable."""

    wamid: str
    raw_status: str
    status: OutboundStatus | None
    at: datetime | None
    recipient_id: str | None = None
    business_number_id: str | None = None
    reference: str | None = None
    error: GraphError | None = None


def parse_statuses(payload: object) -> list[StatusUpdate]:
    """Every status of a webhook body, across all entries and changes. Statuses without an id are skipped
    (there is nothing to match them to); the rest of the payload is still read."""
    updates: list[StatusUpdate] = []
    for value in _values(payload):
        metadata = value.get("metadata")
        number = metadata.get("phone_number_id") if isinstance(metadata, Mapping) else None
        statuses = value.get("statuses")
        if not isinstance(statuses, list):
            continue
        for status in statuses:
            update = _status(status, str(number) if number is not None else None)
            if update is not None:
                updates.append(update)
    return updates


def _values(payload: object) -> list[Mapping[str, Any]]:
    if not isinstance(payload, Mapping) or not isinstance(payload.get("entry"), list):
        return []
    values = []
    for entry in payload["entry"]:
        changes = entry.get("changes") if isinstance(entry, Mapping) else None
        for change in changes if isinstance(changes, list) else ():
            value = change.get("value") if isinstance(change, Mapping) else None
            if isinstance(value, Mapping):
                values.append(value)
    return values


def _status(status: object, number: str | None) -> StatusUpdate | None:
    if not isinstance(status, Mapping) or not isinstance(status.get("id"), str) or not status["id"]:
        return None
    raw = str(status.get("status", ""))
    errors = status.get("errors")
    error = None
    if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
        first = errors[0]
        error = GraphError(
            code=_int(first.get("code")), http_status=None, title=str(first.get("title") or first.get("message") or "")
        )
    reference = status.get("biz_opaque_callback_data")
    recipient = status.get("recipient_id")
    return StatusUpdate(
        wamid=status["id"],
        raw_status=raw,
        status=_STATUSES.get(raw),
        at=_timestamp(status.get("timestamp")),
        recipient_id=str(recipient) if recipient is not None else None,
        business_number_id=number,
        reference=str(reference) if reference else None,
        error=error,
    )


def _timestamp(value: object) -> datetime | None:
    seconds = _int(value)
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)
