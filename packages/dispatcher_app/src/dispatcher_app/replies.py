"""The two seams between the dispatcher app and the WhatsApp sending side.

* :class:`ReplySender` - what an agent's ``reply`` frame is handed to, once its shape is checked. It checks
  the agent owns the conversation, sends, and tells the orchestrator the customer was answered (rule 6) -
  in the order its sending needs (the WhatsApp reply service marks the customer answered only when Meta took
  the message). With WhatsApp configured it is :class:`dispatcher_app.sending.CloudReplySender`; without,
  :class:`MemoryOutbox` records the reply with ``DispatcherOrchestrator.handle_agent_replied`` and keeps it in
  memory (bounded), sending nothing, so the whole agent protocol works without a Meta account (the demo).
* :class:`StatusHandler` - what the webhook hands each delivery status to
  (:class:`dispatcher_app.sending.CloudStatusHandler` with WhatsApp configured). :class:`StatusRelay`, the
  offline one, tells the agent who sent the message (a ``message.status`` frame) when the sender knows that message.

Both are protocols so the composition root can swap them without the routes knowing.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from dispatcher_app.serialization import JSON, converter
from dispatcher_app.webhooks.parser import StatusUpdate
from dispatcher_core import DispatcherOrchestrator
from dispatcher_core.ports import Clock

__all__ = [
    "AgentNotifier",
    "MemoryOutbox",
    "OutboxEntry",
    "ReplyReceipt",
    "ReplyRejected",
    "ReplyRequest",
    "ReplySender",
    "SentMessageLookup",
    "StatusHandler",
    "StatusRelay",
]

#: The longest text WhatsApp accepts in one message (docs/whatsapp-sender.md).
MAX_REPLY_LENGTH = 4096


@dataclass(frozen=True, slots=True)
class ReplyRequest:
    agent_id: str
    conversation_id: str
    text: str
    client_id: str | None = None


@dataclass(frozen=True, slots=True)
class ReplyReceipt:
    """``message_id`` identifies the outbound message: the offline outbox's id, or with the Cloud API sender
    our reference (the outbox id, sent as ``biz_opaque_callback_data``; ``message.status`` frames carry it).
    ``status`` is the sender's state after the send (``sent``, or ``unknown`` when Meta's answer was lost),
    ``wamid`` Meta's id once known; ``duplicate`` means a resent ``client_id``: nothing was sent again."""

    message_id: str
    status: str | None = None
    wamid: str | None = None
    duplicate: bool = False


class ReplyRejected(Exception):
    """The reply could not be sent; ``code`` is what the agent's ``error`` frame carries."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class ReplySender(Protocol):
    async def send_reply(self, request: ReplyRequest) -> ReplyReceipt:
        """Send the agent's text to the conversation's customer and record the answer.

        Raises the core's errors when the conversation is unknown, closed or not the agent's
        (``ConversationNotFound``, ``ConversationAlreadyClosed``, ``NotConversationOwner``: nothing is sent),
        ``InvalidInput`` for a text it refuses, or :class:`ReplyRejected` when sending failed.
        """
        ...


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    message_id: str
    agent_id: str
    conversation_id: str
    business_number_id: str
    customer_id: str
    text: str
    client_id: str | None
    at: datetime


class SentMessageLookup(Protocol):
    def find(self, message_id: str) -> OutboxEntry | None:
        """The reply sent with that id, if this sender knows it."""
        ...


class MemoryOutbox:
    """A :class:`ReplySender` that records replies instead of sending them (the newest ``limit`` kept)."""

    def __init__(self, orchestrator: DispatcherOrchestrator, clock: Clock, *, limit: int = 10_000) -> None:
        self._orchestrator = orchestrator
        self._clock = clock
        self._ids = itertools.count(1)
        self.entries: deque[OutboxEntry] = deque(maxlen=limit)
        self._by_id: dict[str, OutboxEntry] = {}

    async def send_reply(self, request: ReplyRequest) -> ReplyReceipt:
        if not request.text.strip():
            raise ReplyRejected("invalid", "text must not be empty")
        if len(request.text) > MAX_REPLY_LENGTH:
            raise ReplyRejected("invalid", f"text must be at most {MAX_REPLY_LENGTH} characters")
        conversation = await self._orchestrator.handle_agent_replied(request.agent_id, request.conversation_id)
        entry = OutboxEntry(
            message_id=f"outbox.{next(self._ids)}",
            agent_id=request.agent_id,
            conversation_id=conversation.id,
            business_number_id=conversation.business_number_id,
            customer_id=conversation.customer_id,
            text=request.text,
            client_id=request.client_id,
            at=self._clock.now(),
        )
        if len(self.entries) == self.entries.maxlen:
            self._by_id.pop(self.entries[0].message_id, None)
        self.entries.append(entry)
        self._by_id[entry.message_id] = entry
        return ReplyReceipt(entry.message_id, status="recorded")

    def find(self, message_id: str) -> OutboxEntry | None:
        return self._by_id.get(message_id)

    async def stats(self) -> JSON:
        """The ``replies`` section of ``/admin/stats``."""
        by_agent: dict[str, int] = {}
        for entry in self.entries:
            by_agent[entry.agent_id] = by_agent.get(entry.agent_id, 0) + 1
        return {"sender": "memory-outbox", "recorded": len(self.entries), "by_agent": by_agent}


class StatusHandler(Protocol):
    async def handle_status(self, status: StatusUpdate) -> None:
        """One delivery status from the webhook. Must not raise for a status it does not know."""
        ...


#: Sends a frame to an agent's sockets on this instance (``EventRouter.to_agent_sockets``).
AgentNotifier = Callable[[str, JSON], None]


class StatusRelay:
    """Sends ``message.status`` to the agent who sent the message, when ``sent`` knows it; keeps a count of
    statuses by value for the stats route."""

    def __init__(self, sent: SentMessageLookup, notify: AgentNotifier) -> None:
        self._sent = sent
        self._notify = notify
        self.counts: dict[str, int] = {}

    async def handle_status(self, status: StatusUpdate) -> None:
        self.counts[status.status] = self.counts.get(status.status, 0) + 1
        entry = self._sent.find(status.message_id)
        if entry is None:
            return
        self._notify(
            entry.agent_id,
            {
                "type": "message.status",
                "conversation_id": entry.conversation_id,
                "message_id": status.message_id,
                "client_id": entry.client_id,
                "status": status.status,
                "at": None if status.at is None else status.at.isoformat(),
                "errors": converter.unstructure(list(status.errors)),
            },
        )
