"""Entities and events to and from the JSON stored in Redis: the one place that knows the wire format.

One cattrs converter (JSON preset: datetimes as ISO 8601 with their offset, enums by value); the core's
classes carry no serialization code. Sorted-set scores are integer microseconds since the Unix epoch, exact
in a double until the year 2255.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from cattrs.preconf.json import make_converter

from dispatcher_adapters.event_wire import dump_event, load_event
from dispatcher_adapters.outbound_codec import register_content_hooks
from dispatcher_core.entities import AgentPresence, Conversation, Message, PendingMessage
from dispatcher_core.errors import StoreError

__all__ = [
    "dump_conversation",
    "dump_event",
    "dump_message",
    "dump_pending",
    "dump_presence",
    "load_conversation",
    "load_event",
    "load_message",
    "load_pending",
    "load_presence",
    "micros",
]

_converter = make_converter()
register_content_hooks(_converter)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)


def micros(instant: datetime) -> int:
    """Microseconds since the epoch: the score of an instant in a sorted set."""
    return (instant - _EPOCH) // _MICROSECOND


def _load(data: str | bytes, cls: type[Any]) -> Any:
    try:
        return _converter.loads(data, cls)
    except Exception as exc:  # corrupt or foreign data under our prefix: a store failure, not a crash
        raise StoreError(f"unreadable {cls.__name__} in Redis: {exc}") from exc


def dump_conversation(conversation: Conversation) -> str:
    return _converter.dumps(conversation)


def load_conversation(data: str, version: str) -> Conversation:
    """The stored hash's ``v`` field is authoritative for the version."""
    conversation: Conversation = _load(data, Conversation)
    return replace(conversation, version=int(version))


def dump_message(message: Message) -> str:
    return _converter.dumps(message)


def load_message(data: str, delivered_to: str | None) -> Message:
    """``delivered_to`` set later by ``mark_delivered`` lives in its own hash field and wins."""
    message: Message = _load(data, Message)
    return replace(message, delivered_to=delivered_to) if delivered_to else message


def dump_pending(pending: PendingMessage) -> str:
    return _converter.dumps(pending)


def load_pending(data: str) -> PendingMessage:
    pending: PendingMessage = _load(data, PendingMessage)
    return pending


def dump_presence(presence: AgentPresence) -> str:
    return _converter.dumps(presence)


def load_presence(data: str, version: str) -> AgentPresence:
    presence: AgentPresence = _load(data, AgentPresence)
    return replace(presence, version=int(version))
