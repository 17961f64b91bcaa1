"""An agent's ``reply`` frame, end to end: what the app's WebSocket handler calls.

``ReplyService.reply(agent_id, conversation_id, text, client_id)``:

1. checks the text (1 to 4096 characters) and the ``client_id``; a refusal raises (``InvalidMessage``,
   ``InvalidInput``) and changes nothing;
2. ``DispatcherOrchestrator.handle_agent_reply`` then, in ONE unit of work, checks the conversation is open
   and the agent's (``ConversationNotFound``, ``ConversationAlreadyClosed``, ``NotConversationOwner``),
   stores the reply in the outbox (``queued``) and in the conversation (direction ``out``) and marks the
   customer answered (rule 6). A ``client_id`` seen before for that agent returns the first reply
   (``duplicate``): a resent frame is never stored or sent twice (the outbox's unique key decides);
3. after the commit the reply is sent at once from the outbox (the same compare-and-set claim as the
   sender loop, so it is sent once even if a sender loop sees it too). If Graph is unavailable it stays
   ``queued`` and the sender loop retries it (see :mod:`.delivery`); a refusal fails it at once.

The app answers ``reply.accepted`` when :attr:`ReplyResult.accepted`, else an ``error`` frame with
:attr:`ReplyResult.error` (for instance "window closed: send a template"). A reply that was accepted but
later fails (or is delivered, read) reaches the agent as a ``message.status`` event.

A failed reply leaves the customer marked answered: the agent was told and decides what to send instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from dispatcher_adapters.whatsapp.delivery import OutboxDelivery
from dispatcher_core.entities import Conversation
from dispatcher_core.errors import InvalidInput
from dispatcher_core.messaging.error_codes import GraphError, agent_message
from dispatcher_core.messaging.outbound import OutboundMessage, OutboundStatus, TextContent
from dispatcher_core.messaging.validation import validate_text_body
from dispatcher_core.orchestrator import DispatcherOrchestrator

__all__ = ["ReplyResult", "ReplyService"]

_CLIENT_ID_MAX = 128


@dataclass(frozen=True, slots=True)
class ReplyResult:
    """``message`` is the outbox entry as stored; ``duplicate`` means the ``client_id`` had been seen and
    nothing was sent this time; ``answered`` whether the conversation's customer messages are now answered."""

    message: OutboundMessage
    duplicate: bool
    answered: bool

    @property
    def reference(self) -> str:
        return self.message.id

    @property
    def status(self) -> OutboundStatus:
        return self.message.status

    @property
    def accepted(self) -> bool:
        """Not failed: stored and sent, being sent, queued for a retry, recorded, or Meta may have it
        (``unknown``: the agent is told when the status webhook comes)."""
        return self.message.status is not OutboundStatus.FAILED

    @property
    def error(self) -> str | None:
        """What to tell the agent when the reply was not sent."""
        if self.message.status is not OutboundStatus.FAILED:
            return None
        error = GraphError(code=self.message.error_code, http_status=None, title=self.message.error_title or "")
        return agent_message(error)


class ReplyService:
    def __init__(
        self,
        *,
        orchestrator: DispatcherOrchestrator,
        delivery: OutboxDelivery,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
        send: bool = True,
    ) -> None:
        """``send=False`` stores replies as ``recorded`` and sends nothing (no WhatsApp configured)."""
        self._new_id = new_id
        self._orchestrator = orchestrator
        self._delivery = delivery
        self._send = send

    async def reply(self, agent_id: str, conversation_id: str, text: str, client_id: str | None = None) -> ReplyResult:
        validate_text_body(text)
        if client_id is not None and not 0 < len(client_id) <= _CLIENT_ID_MAX:
            raise InvalidInput(f"client_id: must be 1 to {_CLIENT_ID_MAX} characters, got {len(client_id)}")
        content = TextContent(text)
        status = OutboundStatus.QUEUED if self._send else OutboundStatus.RECORDED

        def outbound(conversation: Conversation, now: datetime) -> OutboundMessage:
            return OutboundMessage.queue(
                id=self._new_id(),
                business_number_id=conversation.business_number_id,
                to=conversation.customer_id,
                content=content,
                now=now,
                conversation_id=conversation.id,
                agent_id=agent_id,
                client_id=client_id,
                status=status,
            )

        recorded = await self._orchestrator.handle_agent_reply(agent_id, conversation_id, outbound)
        if recorded.duplicate:
            return ReplyResult(recorded.message, duplicate=True, answered=False)
        message = recorded.message
        if self._send:
            message = await self._delivery.deliver(message, retry_when_unavailable=True)
        return ReplyResult(message, duplicate=False, answered=True)
