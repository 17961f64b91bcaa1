"""Domain events: what happened, emitted by the orchestrator after its unit of work committed.

The app turns them into WebSocket frames (each agent event carries a per-agent ``seq`` added at the edge);
``agent_id`` names the one agent an event is for, when there is one. Core classes carry no JSON code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from dispatcher_core.entities import Message, PresenceStatus, QueuePosition

__all__ = [
    "AgentStatusChanged",
    "AssignmentReason",
    "ConversationAssigned",
    "ConversationClosed",
    "ConversationPending",
    "ConversationReleased",
    "DomainEvent",
    "MessageReceived",
    "OutboundStatusChanged",
    "QueueUpdated",
]

#: Why a conversation was assigned: a new conversation, a pending one drained, or a response timeout.
AssignmentReason = Literal["new", "pending", "response_timeout"]


@dataclass(frozen=True, slots=True)
class ConversationAssigned:
    """``agent_id`` now handles the conversation; ``messages`` is its whole history, oldest first (the
    customer's messages and the replies, direction ``out``); ``outbound`` the send records of those replies.

    The assigned agent also moved to the end of the round-robin queue.
    """

    conversation_id: str
    agent_id: str
    business_number_id: str
    customer_id: str
    customer_name: str | None
    messages: tuple[Message, ...]
    reason: AssignmentReason
    at: datetime
    previous_agent_id: str | None = None
    outbound: tuple[OutboundMessage, ...] = ()
    type: Literal["conversation.assigned"] = "conversation.assigned"


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """A customer message of a conversation that ``agent_id`` already handles (decision KEEP)."""

    conversation_id: str
    agent_id: str
    message: Message
    type: Literal["message.received"] = "message.received"


@dataclass(frozen=True, slots=True)
class ConversationReleased:
    """The conversation was taken from ``agent_id`` (grace period over, or response timeout)."""

    conversation_id: str
    agent_id: str
    reason: Literal["disconnected", "response_timeout"]
    at: datetime
    type: Literal["conversation.released"] = "conversation.released"


@dataclass(frozen=True, slots=True)
class ConversationPending:
    """The conversation has no agent and waits (I5)."""

    conversation_id: str
    since: datetime
    type: Literal["conversation.pending"] = "conversation.pending"


@dataclass(frozen=True, slots=True)
class ConversationClosed:
    """The conversation is closed; ``agent_id`` is who had it, if anyone."""

    conversation_id: str
    agent_id: str | None
    reason: str
    at: datetime
    type: Literal["conversation.closed"] = "conversation.closed"


@dataclass(frozen=True, slots=True)
class QueueUpdated:
    """The set of agents in the round-robin changed (an agent joined or left). Head first.

    A plain rotation is not announced with this event: every ``ConversationAssigned`` moves its agent to the
    end, which listeners can apply themselves.
    """

    positions: tuple[QueuePosition, ...]
    type: Literal["queue.updated"] = "queue.updated"


@dataclass(frozen=True, slots=True)
class AgentStatusChanged:
    agent_id: str
    status: PresenceStatus
    at: datetime
    type: Literal["agent.status"] = "agent.status"


@dataclass(frozen=True, slots=True)
class OutboundStatusChanged:
    """An outbound message of a conversation ``agent_id`` owns moved on (the ``message.status`` frame): sent,
    delivered, read, failed (``error_code``/``error_title`` say why), unknown (the request's answer was
    lost), or queued again (WhatsApp unavailable: retried later). ``message_id`` is our reference, the id the
    message has in the conversation's history. Emitted after the change is stored, like every event, through
    the :class:`~dispatcher_core.ports.EventPublisher`, so it reaches the agent on whichever instance."""

    conversation_id: str
    agent_id: str
    message_id: str
    status: str
    previous: str | None
    at: datetime
    client_id: str | None = None
    wamid: str | None = None
    error_code: int | None = None
    error_title: str | None = None
    type: Literal["message.status"] = "message.status"


DomainEvent = (
    ConversationAssigned
    | MessageReceived
    | ConversationReleased
    | ConversationPending
    | ConversationClosed
    | QueueUpdated
    | AgentStatusChanged
    | OutboundStatusChanged
)

# Imported last: the messaging package imports the ports, which import this module's DomainEvent. The
# annotations above are strings (PEP 563) resolved from this name when needed (cattrs, get_type_hints).
from dispatcher_core.messaging.outbound import OutboundMessage  # noqa: E402  # see the comment above
