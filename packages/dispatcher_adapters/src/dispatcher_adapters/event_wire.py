"""Domain events as JSON, and who receives them: shared by the event transports (Redis, PostgreSQL), which
must agree on both so that an event means the same on every instance whichever way it travelled.

One cattrs converter (JSON preset: datetimes as ISO 8601 with their offset, enums by value); the core's
classes carry no serialization code. A new event type is added to :data:`EVENT_TYPES` and to
:func:`recipient`, and travels on every transport.
"""

from __future__ import annotations

import json
from typing import Any, Final, assert_never

from cattrs.preconf.json import make_converter

from dispatcher_adapters.outbound_codec import register_content_hooks
from dispatcher_core.errors import StoreError
from dispatcher_core.events import (
    AgentStatusChanged,
    ConversationAssigned,
    ConversationClosed,
    ConversationPending,
    ConversationReleased,
    DomainEvent,
    MessageReceived,
    OutboundStatusChanged,
    QueueUpdated,
)

__all__ = ["EVENT_TYPES", "dump_event", "load_event", "recipient"]

_converter = make_converter()
register_content_hooks(_converter)  # outbound messages (reply records) travel in events

#: Every event class by its ``type`` literal.
EVENT_TYPES: Final[dict[str, type[DomainEvent]]] = {
    cls.__dataclass_fields__["type"].default: cls  # type: ignore[misc]  # every event class has a literal default
    for cls in (
        ConversationAssigned,
        MessageReceived,
        ConversationReleased,
        ConversationPending,
        ConversationClosed,
        QueueUpdated,
        AgentStatusChanged,
        OutboundStatusChanged,
    )
}


def recipient(event: DomainEvent) -> str | None:
    """The agent an event is sent to (on its socket, with a ``seq``), or ``None`` for admin-only events."""
    match event:
        case (
            ConversationAssigned()
            | MessageReceived()
            | ConversationReleased()
            | ConversationClosed()
            | OutboundStatusChanged()
        ):
            return event.agent_id
        case ConversationPending() | QueueUpdated() | AgentStatusChanged():
            return None
        case _:
            assert_never(event)


def dump_event(event: DomainEvent) -> str:
    return _converter.dumps(event)


def load_event(data: Any) -> DomainEvent:
    """An event from its unstructured form (a dict with its ``type``) or from JSON text."""
    raw = json.loads(data) if isinstance(data, str | bytes) else data
    try:
        cls = EVENT_TYPES[raw["type"]]
        event: DomainEvent = _converter.structure(raw, cls)
    except Exception as exc:
        raise StoreError(f"unreadable event: {exc}") from exc
    return event
