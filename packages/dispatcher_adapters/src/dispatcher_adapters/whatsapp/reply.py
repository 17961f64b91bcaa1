"""An agent's ``reply`` frame, end to end: what the app's WebSocket handler calls.

``ReplyService.reply(agent_id, conversation_id, text, client_id)``:

1. checks the text (1 to 4096 characters) and that the conversation is open and the agent's; a refusal
   raises (``InvalidMessage``, ``ConversationNotFound``, ``ConversationAlreadyClosed``,
   ``NotConversationOwner``) and changes nothing: the app answers an ``error`` frame;
2. a ``client_id`` seen before for that agent returns the first reply's result (``duplicate``): a resent
   frame is never sent twice, even when both arrive at once (the outbox's unique key decides);
3. dispatches ``SendTextMessage`` through the command bus (outbox first, then the resilient sender);
4. if Meta accepted it (or may have: ``unknown``), tells the orchestrator the agent replied, which marks the
   customer's messages answered for the response timeout (rule 6). A send that certainly failed leaves them
   unanswered: the customer is still waiting.

The app answers ``reply.accepted`` when :attr:`ReplyResult.accepted`, else an ``error`` frame with
:attr:`ReplyResult.error` (for instance "window closed: send a template").
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from dispatcher_core.entities import Conversation
from dispatcher_core.errors import (
    ConversationAlreadyClosed,
    ConversationNotFound,
    InvalidInput,
    NotConversationOwner,
)
from dispatcher_core.messaging.command_bus import CommandBus
from dispatcher_core.messaging.commands import SendTextMessage
from dispatcher_core.messaging.error_codes import GraphError, agent_message
from dispatcher_core.messaging.outbound import OutboundMessage, OutboundStatus
from dispatcher_core.messaging.validation import validate_text_body
from dispatcher_core.orchestrator import DispatcherOrchestrator
from dispatcher_core.ports.outbox_repository import OutboxRepository
from dispatcher_core.ports.unit_of_work import UnitOfWorkFactory

__all__ = ["ReplyResult", "ReplyService"]

_log = logging.getLogger(__name__)
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
        """Not failed: Meta has it, may have it (``unknown``: the agent is told when the status webhook
        comes), or, for a duplicate frame, the first one is still being sent."""
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
        uow_factory: UnitOfWorkFactory,
        orchestrator: DispatcherOrchestrator,
        bus: CommandBus,
        outbox: OutboxRepository,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self._new_id = new_id
        self._uow_factory = uow_factory
        self._orchestrator = orchestrator
        self._bus = bus
        self._outbox = outbox

    async def reply(self, agent_id: str, conversation_id: str, text: str, client_id: str | None = None) -> ReplyResult:
        earlier = await self._check(agent_id, text, client_id)
        if earlier is not None:
            return ReplyResult(earlier, duplicate=True, answered=False)
        async with self._uow_factory() as uow:
            conversation = await uow.conversations.get(conversation_id)
        if conversation is None:
            raise ConversationNotFound(conversation_id)
        if not conversation.is_open:
            raise ConversationAlreadyClosed(f"conversation {conversation_id} is closed")
        if conversation.agent_id != agent_id:
            raise NotConversationOwner(f"conversation {conversation_id} is not assigned to agent {agent_id}")
        return await self.send_to(conversation, agent_id, text, client_id, mark_answered=True)

    async def send_to(
        self,
        conversation: Conversation,
        agent_id: str,
        text: str,
        client_id: str | None = None,
        *,
        mark_answered: bool = False,
    ) -> ReplyResult:
        """Steps 2 to 4 for a caller that already read the conversation and checked the agent owns it (the
        app's ``ReplySender`` seam). With ``mark_answered`` false the orchestrator is not told: the caller
        records the reply itself."""
        earlier = await self._check(agent_id, text, client_id)
        if earlier is not None:
            return ReplyResult(earlier, duplicate=True, answered=False)
        reference = self._new_id()
        message = await self._bus.dispatch(
            SendTextMessage(
                to=conversation.customer_id,
                text=text,
                business_number_id=conversation.business_number_id,
                conversation_id=conversation.id,
                agent_id=agent_id,
                client_id=client_id,
                reference=reference,
            )
        )
        if message.id != reference:
            # A concurrent frame with the same client_id got there first; that one is being sent.
            return ReplyResult(message, duplicate=True, answered=False)
        answered = False
        if mark_answered and message.status.accepted:
            try:
                await self._orchestrator.handle_agent_replied(agent_id, conversation.id)
                answered = True
            except (NotConversationOwner, ConversationAlreadyClosed) as exc:
                # Sent, but the conversation changed hands or closed meanwhile: nothing left to mark answered.
                _log.info("reply %s sent after its conversation changed: %s", message.id, exc)
        return ReplyResult(message, duplicate=False, answered=answered)

    async def _check(self, agent_id: str, text: str, client_id: str | None) -> OutboundMessage | None:
        """Refuse bad input before any other work; return the earlier reply with the same ``client_id``."""
        validate_text_body(text)
        if client_id is None:
            return None
        if not 0 < len(client_id) <= _CLIENT_ID_MAX:
            raise InvalidInput(f"client_id: must be 1 to {_CLIENT_ID_MAX} characters, got {len(client_id)}")
        return await self._outbox.get_by_client_id(agent_id, client_id)
