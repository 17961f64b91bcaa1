"""Entities to row parameters and back. Kept apart from the queries so each side stays readable.

Rows come back as plain sequences in the column order of the tables (:mod:`~dispatcher_adapters.sql.tables`
declares them in the order of the entities' fields; a test keeps the two in step), so reading one is indexing,
whatever the driver.

Datetimes are checked here: a naive datetime is refused with :class:`~dispatcher_core.errors.InvalidInput`
before anything is written (a naive value would be silently read back as UTC, maybe the wrong instant).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from dispatcher_core.entities import (
    AgentPresence,
    Conversation,
    ConversationStatus,
    Message,
    MessageDirection,
    PendingMessage,
    PresenceStatus,
)
from dispatcher_core.errors import InvalidInput

__all__ = [
    "conversation_from_row",
    "conversation_params",
    "message_from_row",
    "message_params",
    "pending_from_row",
    "pending_params",
    "presence_from_row",
    "presence_params",
]

Params = dict[str, Any]
Row = Sequence[Any]


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{name} must be a timezone-aware datetime, got {value!r}")
    return value


def _aware_or_none(value: datetime | None, name: str) -> datetime | None:
    return None if value is None else _aware(value, name)


def conversation_params(c: Conversation, *, version: int) -> Params:
    return {
        "id": c.id,
        "business_number_id": c.business_number_id,
        "customer_id": c.customer_id,
        "status": c.status.value,
        "opened_at": _aware(c.opened_at, "opened_at"),
        "last_activity_at": _aware(c.last_activity_at, "last_activity_at"),
        "customer_name": c.customer_name,
        "agent_id": c.agent_id,
        "assigned_at": _aware_or_none(c.assigned_at, "assigned_at"),
        "pending_since": _aware_or_none(c.pending_since, "pending_since"),
        "oldest_unanswered_at": _aware_or_none(c.oldest_unanswered_at, "oldest_unanswered_at"),
        "closed_at": _aware_or_none(c.closed_at, "closed_at"),
        "close_reason": c.close_reason,
        "version": version,
    }


def conversation_from_row(row: Row) -> Conversation:
    return Conversation(
        id=row[0],
        business_number_id=row[1],
        customer_id=row[2],
        status=ConversationStatus(row[3]),
        opened_at=row[4],
        last_activity_at=row[5],
        customer_name=row[6],
        agent_id=row[7],
        assigned_at=row[8],
        pending_since=row[9],
        oldest_unanswered_at=row[10],
        closed_at=row[11],
        close_reason=row[12],
        version=row[13],
    )


def message_params(m: Message) -> Params:
    return {
        "id": m.id,
        "conversation_id": m.conversation_id,
        "business_number_id": m.business_number_id,
        "external_id": m.external_id,
        "direction": m.direction.value,
        "kind": m.kind,
        "text": m.text,
        "received_at": _aware(m.received_at, "received_at"),
        "sent_at": _aware_or_none(m.sent_at, "sent_at"),
        "delivered_to": m.delivered_to,
    }


def message_from_row(row: Row) -> Message:
    return Message(
        id=row[0],
        conversation_id=row[1],
        business_number_id=row[2],
        external_id=row[3],
        direction=MessageDirection(row[4]),
        kind=row[5],
        text=row[6],
        received_at=row[7],
        sent_at=row[8],
        delivered_to=row[9],
    )


def pending_params(p: PendingMessage) -> Params:
    return {
        "id": p.id,
        "conversation_id": p.conversation_id,
        "message_id": p.message_id,
        "enqueued_at": _aware(p.enqueued_at, "enqueued_at"),
    }


def pending_from_row(row: Row) -> PendingMessage:
    return PendingMessage(id=row[0], conversation_id=row[1], message_id=row[2], enqueued_at=row[3])


def presence_params(p: AgentPresence, *, version: int) -> Params:
    return {
        "agent_id": p.agent_id,
        "status": p.status.value,
        "changed_at": _aware(p.changed_at, "changed_at"),
        "connections": json.dumps(sorted(p.connections)),
        "grace_until": _aware_or_none(p.grace_until, "grace_until"),
        "version": version,
    }


def presence_from_row(row: Row) -> AgentPresence:
    return AgentPresence(
        agent_id=row[0],
        status=PresenceStatus(row[1]),
        changed_at=row[2],
        connections=frozenset(json.loads(row[3])),
        grace_until=row[4],
        version=row[5],
    )
