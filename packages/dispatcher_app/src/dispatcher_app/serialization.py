"""JSON at the edge: the one cattrs converter of the app, and the shapes of the frames and admin documents.

Why here: core classes carry no JSON code (STYLE 7). Everything that leaves the app as JSON goes through
:data:`converter`, so a datetime is always an ISO 8601 string with its offset, an enum is its value, a set is
a sorted list, whatever the route or socket.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import cattrs

from dispatcher_core import Conversation, Message
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
from dispatcher_core.messaging.outbound import OutboundMessage

__all__ = [
    "AGENT_EVENT_TYPES",
    "admin_event_payload",
    "agent_conversation_payload",
    "agent_event_payload",
    "agent_of",
    "conversation_payload",
    "converter",
    "dumps",
    "message_payload",
    "messages_payload",
    "outbound_payload",
]

JSON = dict[str, Any]

converter = cattrs.Converter()
converter.register_unstructure_hook(datetime, lambda value: value.isoformat())
converter.register_unstructure_hook(timedelta, lambda value: value.total_seconds())
converter.register_unstructure_hook(frozenset, lambda value: sorted(converter.unstructure(item) for item in value))

#: The domain events an agent receives on its socket; the others are for the admin stream only.
AGENT_EVENT_TYPES = frozenset(
    {"conversation.assigned", "message.received", "conversation.released", "conversation.closed", "message.status"}
)


def dumps(payload: Mapping[str, object]) -> str:
    """Compact JSON, UTF-8 characters kept as they are (emoji in customer messages)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def outbound_payload(outbound: OutboundMessage) -> JSON:
    """The send record of an outbound message (``direction`` ``out``): who sent it, its status and the time
    of each status change, and why it failed."""
    failed = outbound.status.value == "failed"
    return {
        "status": outbound.status.value,
        "agent_id": outbound.agent_id,
        "client_id": outbound.client_id,
        "bulk_id": outbound.bulk_id,
        "wamid": outbound.wamid,
        "template_name": outbound.template_name,
        "attempts": outbound.attempts,
        "queued_at": _iso(outbound.created_at),
        "updated_at": _iso(outbound.updated_at),
        "retry_at": _iso(outbound.not_before) if outbound.status.value == "queued" else None,
        "sent_at": _iso(outbound.sent_at),
        "delivered_at": _iso(outbound.delivered_at),
        "read_at": _iso(outbound.read_at),
        "failed_at": _iso(outbound.failed_at),
        "errors": [{"code": outbound.error_code, "title": outbound.error_title}] if failed else [],
    }


def message_payload(message: Message, outbound: OutboundMessage | None = None) -> JSON:
    payload: JSON = converter.unstructure(message)
    if outbound is not None:
        payload["outbound"] = outbound_payload(outbound)
    return payload


def messages_payload(messages: Sequence[Message], outbound: Sequence[OutboundMessage] = ()) -> list[JSON]:
    """A conversation's history in arrival order, each outbound message with its send record."""
    by_id = {message.id: message for message in outbound}
    return [message_payload(message, by_id.get(message.id)) for message in messages]


def conversation_payload(
    conversation: Conversation, messages: Sequence[Message] | None = None, outbound: Sequence[OutboundMessage] = ()
) -> JSON:
    payload: JSON = converter.unstructure(conversation)
    if messages is not None:
        payload["messages"] = messages_payload(messages, outbound)
    return payload


def _customer(customer_id: str, name: str | None, business_number_id: str) -> JSON:
    return {"id": customer_id, "name": name, "business_number_id": business_number_id}


def agent_conversation_payload(
    conversation: Conversation, messages: Sequence[Message], outbound: Sequence[OutboundMessage] = ()
) -> JSON:
    """A conversation as an agent sees it in ``hello``: same shape as ``conversation.assigned``."""
    return {
        "conversation_id": conversation.id,
        "customer": _customer(conversation.customer_id, conversation.customer_name, conversation.business_number_id),
        "assigned_at": None if conversation.assigned_at is None else conversation.assigned_at.isoformat(),
        "oldest_unanswered_at": (
            None if conversation.oldest_unanswered_at is None else conversation.oldest_unanswered_at.isoformat()
        ),
        "messages": messages_payload(messages, outbound),
    }


def agent_of(event: DomainEvent) -> str | None:
    """The agent whose socket receives ``event``, or ``None`` for admin-only events."""
    if event.type not in AGENT_EVENT_TYPES:
        return None
    agent_id: str | None = getattr(event, "agent_id", None)
    return agent_id


def agent_event_payload(event: DomainEvent) -> JSON:
    """The frame an agent receives for ``event`` (without its ``seq``, added per agent when sending)."""
    match event:
        case ConversationAssigned():
            return {
                "type": event.type,
                "conversation_id": event.conversation_id,
                "reason": event.reason,
                "previous_agent_id": event.previous_agent_id,
                "at": event.at.isoformat(),
                "customer": _customer(event.customer_id, event.customer_name, event.business_number_id),
                "messages": messages_payload(event.messages, event.outbound),
            }
        case MessageReceived():
            return {
                "type": event.type,
                "conversation_id": event.conversation_id,
                "message": message_payload(event.message),
            }
        case ConversationReleased() | ConversationClosed():
            return {
                "type": event.type,
                "conversation_id": event.conversation_id,
                "reason": event.reason,
                "at": event.at.isoformat(),
            }
        case OutboundStatusChanged():
            return {
                "type": event.type,
                "conversation_id": event.conversation_id,
                "message_id": event.message_id,
                "client_id": event.client_id,
                "wamid": event.wamid,
                "status": event.status,
                "previous": event.previous,
                "at": event.at.isoformat(),
                "errors": (
                    [{"code": event.error_code, "title": event.error_title}] if event.status == "failed" else []
                ),
            }
        case ConversationPending() | QueueUpdated() | AgentStatusChanged():
            raise ValueError(f"{event.type} is not an agent event")


def admin_event_payload(event: DomainEvent) -> JSON:
    """The admin stream's frame for ``event``: every field of the event (without its ``seq``)."""
    fields: JSON = converter.unstructure(event)
    return {"type": event.type, **fields}
