"""The two seams between the dispatcher app and the WhatsApp sending side.

* :class:`ReplySender` - what an agent's ``reply`` frame is handed to, once its shape is checked. It checks
  the agent owns the conversation, stores the reply in the conversation and the outbox and marks the
  customer answered (rule 6) in one unit of work, then sends. With WhatsApp configured it is
  :class:`dispatcher_app.sending.CloudReplySender`; without, :class:`RecordingReplySender` stores the reply
  the same way with status ``recorded`` and sends nothing, so the whole agent protocol works without a Meta
  account (the demo), and the replies are in the store like any other.
* :class:`StatusHandler` - what the webhook hands each delivery status to
  (:class:`dispatcher_app.sending.CloudStatusHandler` with WhatsApp configured). :class:`StatusRelay`, the
  offline one, tells the owner of the conversation about a status of one of its stored replies (a
  ``message.status`` event through the event publisher: on whichever instance the agent is), without
  changing the stored message (a recorded message was never sent).

Both are protocols so the composition root can swap them without the routes knowing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from dispatcher_app.serialization import JSON
from dispatcher_app.webhooks.parser import StatusUpdate
from dispatcher_core import Conversation, DispatcherOrchestrator
from dispatcher_core.events import OutboundStatusChanged
from dispatcher_core.messaging.outbound import OutboundMessage, OutboundStatus, TextContent
from dispatcher_core.ports import EventPublisher, UnitOfWorkFactory

__all__ = [
    "RecordingReplySender",
    "ReplyReceipt",
    "ReplyRejected",
    "ReplyRequest",
    "ReplySender",
    "StatusHandler",
    "StatusRelay",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_END_OF_TIME = datetime(9999, 1, 1, tzinfo=UTC)

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


class RecordingReplySender:
    """A :class:`ReplySender` that stores replies (status ``recorded``) instead of sending them."""

    def __init__(self, orchestrator: DispatcherOrchestrator, uow_factory: UnitOfWorkFactory) -> None:
        self._orchestrator = orchestrator
        self._uow_factory = uow_factory

    async def send_reply(self, request: ReplyRequest) -> ReplyReceipt:
        if not request.text.strip():
            raise ReplyRejected("invalid", "text must not be empty")
        if len(request.text) > MAX_REPLY_LENGTH:
            raise ReplyRejected("invalid", f"text must be at most {MAX_REPLY_LENGTH} characters")
        content = TextContent(request.text)

        def outbound(conversation: Conversation, now: datetime) -> OutboundMessage:
            return OutboundMessage.queue(
                id=uuid.uuid4().hex,
                business_number_id=conversation.business_number_id,
                to=conversation.customer_id,
                content=content,
                now=now,
                conversation_id=conversation.id,
                agent_id=request.agent_id,
                client_id=request.client_id,
                status=OutboundStatus.RECORDED,
            )

        reply = await self._orchestrator.handle_agent_reply(request.agent_id, request.conversation_id, outbound)
        return ReplyReceipt(reply.message.id, status=reply.message.status.value, duplicate=reply.duplicate)

    async def stats(self) -> JSON:
        """The ``replies`` section of ``/admin/stats``: replies recorded in the store, over all time."""
        async with self._uow_factory() as uow:
            counts = await uow.outbox.count_created_between(_EPOCH, _END_OF_TIME)
        recorded = sum(count.count for count in counts if count.status is OutboundStatus.RECORDED)
        return {"sender": "recorded", "recorded": recorded}


class StatusHandler(Protocol):
    async def handle_status(self, status: StatusUpdate) -> None:
        """One delivery status from the webhook. Must not raise for a status it does not know."""
        ...


class StatusRelay:
    """Offline: a status webhook naming one of our stored messages (by reference or wamid) is relayed to the
    conversation's owner as a ``message.status`` event; counts statuses by value for the stats route."""

    def __init__(self, uow_factory: UnitOfWorkFactory, publisher: EventPublisher) -> None:
        self._uow_factory = uow_factory
        self._publisher = publisher
        self.counts: dict[str, int] = {}

    async def handle_status(self, status: StatusUpdate) -> None:
        self.counts[status.status] = self.counts.get(status.status, 0) + 1
        async with self._uow_factory() as uow:
            message = await uow.outbox.get(status.reference or status.message_id)
            if message is None:
                message = await uow.outbox.get_by_wamid(status.message_id)
            if message is None or message.conversation_id is None:
                return
            conversation = await uow.conversations.get(message.conversation_id)
        if conversation is None or conversation.agent_id is None or not conversation.is_open:
            return
        error = status.errors[0] if status.errors else None
        await self._publisher.publish(
            [
                OutboundStatusChanged(
                    conversation_id=conversation.id,
                    agent_id=conversation.agent_id,
                    message_id=message.id,
                    status=status.status,
                    previous=message.status.value,
                    at=status.at or message.updated_at,
                    client_id=message.client_id,
                    wamid=status.message_id,
                    error_code=None if error is None else error.code,
                    error_title=None if error is None else (error.title or error.message),
                )
            ]
        )
