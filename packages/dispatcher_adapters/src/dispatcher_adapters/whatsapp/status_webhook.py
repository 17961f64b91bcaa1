"""Status webhooks -> outbox -> ``MessageStatusChanged`` for the agent who owns the conversation.

Each status is matched to our outbox message by the reference we sent (``biz_opaque_callback_data``) or,
failing that, by the wamid; statuses of messages we did not send are ignored. This is also how a send whose
answer was lost (``unknown``) is reconciled: its webhook carries our reference although we never learnt the
wamid. Webhooks come late, twice and out of order (Meta retries for days); a status that brings nothing new
changes nothing and emits nothing, so the agent is never told the same thing twice.

The app answers the webhook, then for each returned :class:`StatusRouting` with an ``agent_id`` sends that
agent a ``message.status`` frame.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from dispatcher_adapters.whatsapp.delivery import sent_event, settle
from dispatcher_adapters.whatsapp.payloads import StatusUpdate, parse_statuses
from dispatcher_core.messaging.error_codes import GraphError, agent_message
from dispatcher_core.messaging.event_dispatcher import EventDispatcher
from dispatcher_core.messaging.events import MessageFailed, MessageStatusChanged
from dispatcher_core.messaging.outbound import OutboundMessage, OutboundStatus
from dispatcher_core.ports.clock import Clock
from dispatcher_core.ports.outbox_repository import OutboxRepository
from dispatcher_core.ports.unit_of_work import UnitOfWorkFactory

__all__ = ["StatusRouting", "StatusWebhookHandler"]

_log = logging.getLogger(__name__)
_IN_FLIGHT = (OutboundStatus.SENDING, OutboundStatus.UNKNOWN)


@dataclass(frozen=True, slots=True)
class StatusRouting:
    """A status that changed one of our messages; ``agent_id`` (the conversation's owner now, if any) is who
    gets the ``message.status`` frame."""

    event: MessageStatusChanged
    message: OutboundMessage

    @property
    def agent_id(self) -> str | None:
        return self.event.agent_id

    @property
    def conversation_id(self) -> str | None:
        return self.event.conversation_id


class StatusWebhookHandler:
    def __init__(
        self,
        *,
        outbox: OutboxRepository,
        events: EventDispatcher,
        clock: Clock,
        uow_factory: UnitOfWorkFactory | None = None,
    ) -> None:
        """With ``uow_factory``, status frames go to whoever owns the conversation now (it may have been
        reassigned since the reply); without it, to the agent who sent the message."""
        self._outbox = outbox
        self._events = events
        self._clock = clock
        self._uow_factory = uow_factory
        self.ignored = 0

    async def handle_payload(self, payload: object) -> list[StatusRouting]:
        """Every status of a webhook body (all entries and changes), in order."""
        routings = []
        for update in parse_statuses(payload):
            routing = await self.handle(update)
            if routing is not None:
                routings.append(routing)
        return routings

    async def handle(self, update: StatusUpdate) -> StatusRouting | None:
        """Apply one status. ``None`` when it is not ours, not tracked, or brings nothing new."""
        message = await self._find(update)
        if message is None or update.status is None:
            self.ignored += 1
            return None
        status = update.status
        at = update.at or self._clock.now()
        before, after = await settle(
            self._outbox, message, lambda m: m.apply_status(status, at, wamid=update.wamid, error=update.error)
        )
        if after.status is before.status:
            return None
        owner = await self._owner(after)
        event = MessageStatusChanged(
            reference=after.id,
            status=after.status,
            previous=before.status,
            at=at,
            wamid=after.wamid,
            conversation_id=after.conversation_id,
            agent_id=owner,
            error_code=after.error_code if after.status is OutboundStatus.FAILED else None,
            error_title=after.error_title if after.status is OutboundStatus.FAILED else None,
        )
        await self._events.dispatch(event)
        if before.status in _IN_FLIGHT and after.status.accepted:
            # The answer to our request never arrived (or not yet): this is how we learn it was sent.
            await self._events.dispatch(sent_event(after, reconciled=before.status is OutboundStatus.UNKNOWN))
        if after.status is OutboundStatus.FAILED:
            error = update.error or GraphError(code=None, http_status=None, title="failed (status webhook)")
            await self._events.dispatch(
                MessageFailed(
                    reference=after.id,
                    to=after.to,
                    reason=agent_message(error),
                    at=at,
                    attempts=after.attempts,
                    error_code=error.code,
                    error_title=error.title,
                    conversation_id=after.conversation_id,
                    agent_id=owner,
                    template_name=after.template_name,
                )
            )
        return StatusRouting(event=event, message=after)

    async def _find(self, update: StatusUpdate) -> OutboundMessage | None:
        if update.reference is not None:
            message = await self._outbox.get(update.reference)
            if message is not None:
                if message.wamid is not None and message.wamid != update.wamid:
                    _log.warning("status for %s names wamid %s, ours is %s", message.id, update.wamid, message.wamid)
                    return None
                return message
        return await self._outbox.get_by_wamid(update.wamid)

    async def _owner(self, message: OutboundMessage) -> str | None:
        if self._uow_factory is None or message.conversation_id is None:
            return message.agent_id
        async with self._uow_factory() as uow:
            conversation = await uow.conversations.get(message.conversation_id)
        if conversation is None or not conversation.is_open:
            return None
        return conversation.agent_id
