"""Outbox delivery: the handlers of ``SendTextMessage`` and ``SendTemplateMessage``, and crash recovery.

Every send follows the same steps, each persisted before the next::

    add to the outbox (queued)  ->  save as sending  ->  MessageSender.send  ->  save the outcome  ->  events

so a crash at any point leaves a message either ``queued`` (never attempted: safe to send), or ``sending``
(maybe attempted: recovery marks it ``unknown``, a status webhook carrying our reference settles it), or
settled. Nothing is dropped, and nothing whose outcome is unknown is sent a second time. The ``queued`` ->
``sending`` save is a compare-and-set, so two instances recovering the same message cannot both send it.

The sender loop (:meth:`OutboxDelivery.send_due`, every tick of every instance, and
``dispatcher worker``) claims due ``queued`` messages with that compare-and-set; a ``sending`` message is
its claimer's lease: if the claimer dies, :meth:`OutboxDelivery.recover` turns it ``unknown`` once the lease
(``stale_after``) is over, never sending it again. With ``retry_when_unavailable`` (agents' replies), a
message that could not be sent because Graph is unavailable (5xx, 429, throttling codes, connection
refused, breaker open) goes back to ``queued`` with a growing ``not_before`` and is tried again, until the
customer's 24 h window is over (counted from the message's creation, an upper bound of the real window:
Graph refuses earlier with 131047, which fails it at once); then it fails with that reason.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from dispatcher_core.errors import ConcurrencyConflict, NotFound
from dispatcher_core.messaging.command_bus import CommandBus
from dispatcher_core.messaging.commands import SendTemplateMessage, SendTextMessage
from dispatcher_core.messaging.error_codes import ErrorClass, GraphError, agent_message, classify
from dispatcher_core.messaging.errors import CircuitOpen, InvalidTransition, SendFailed, SendOutcomeUnknown
from dispatcher_core.messaging.event_dispatcher import EventDispatcher
from dispatcher_core.messaging.events import MessageFailed, MessageSent, MessageStatusChanged, TemplateUsed
from dispatcher_core.messaging.outbound import Content, OutboundMessage, OutboundStatus, TextContent
from dispatcher_core.messaging.template import TemplateMessage
from dispatcher_core.messaging.template_check import TemplateCatalogueCheck
from dispatcher_core.messaging.validation import TemplateMessageValidator
from dispatcher_core.ports.clock import Clock
from dispatcher_core.ports.message_sender import MessageSender
from dispatcher_core.ports.outbox_repository import OutboxRepository

__all__ = ["OutboxDelivery", "RecoveryReport", "SettledHook", "Transition", "sent_event", "settle"]

_log = logging.getLogger(__name__)

Transition = Callable[[OutboundMessage], OutboundMessage]
#: Called with (the message as stored, its status before) whenever a send moved it: sent, failed, unknown or
#: back to queued. The app turns it into a ``message.status`` domain event.
SettledHook = Callable[[OutboundMessage, OutboundStatus], Awaitable[None]]
_SAVE_ATTEMPTS = 10
_PAGE = 100
#: How long a customer's window stays open after their message (and so the longest a reply is retried).
CUSTOMER_WINDOW = timedelta(hours=24)
_MAX_RETRY_DELAY = timedelta(minutes=5)
WINDOW_CLOSED_REASON = "the customer's 24 h window closed before WhatsApp was available: send a template"


async def _no_hook(message: OutboundMessage, previous: OutboundStatus) -> None:
    return None


def _uuid() -> str:
    return uuid.uuid4().hex


async def settle(
    outbox: OutboxRepository, message: OutboundMessage, transition: Transition
) -> tuple[OutboundMessage, OutboundMessage]:
    """Apply ``transition`` and save it, re-reading and re-applying on a compare-and-set conflict (a status
    webhook or another instance changed the message meanwhile). Returns (the state it was applied to, the
    stored result). If the fresh state no longer allows the transition, the fresh state wins unchanged."""
    current = message
    for _ in range(_SAVE_ATTEMPTS):
        try:
            updated = transition(current)
        except InvalidTransition:
            if current is message:
                raise
            return current, current
        if updated is current:
            return current, current
        try:
            return current, await outbox.save(updated)
        except ConcurrencyConflict:
            fresh = await outbox.get(message.id)
            if fresh is None:
                raise NotFound(f"outbound message {message.id} disappeared") from None
            current = fresh
    raise ConcurrencyConflict(f"outbound message {message.id}: gave up after {_SAVE_ATTEMPTS} conflicting saves")


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    """What :meth:`OutboxDelivery.recover` did: interrupted sends marked unknown, queued ones sent."""

    marked_unknown: int
    resumed: int


class OutboxDelivery:
    """Register it on a bus with :meth:`register`; call :meth:`recover` at start-up and periodically."""

    def __init__(
        self,
        *,
        outbox: OutboxRepository,
        sender: MessageSender,
        events: EventDispatcher,
        clock: Clock,
        default_number_id: str,
        validator: TemplateMessageValidator | None = None,
        new_id: Callable[[], str] = _uuid,
        template_check: TemplateCatalogueCheck | None = None,
        on_settled: SettledHook = _no_hook,
    ) -> None:
        self.on_settled = on_settled
        self.outbox = outbox
        self._sender = sender
        self._events = events
        self._clock = clock
        self.default_number_id = default_number_id
        self._validator = validator or TemplateMessageValidator()
        self.new_id = new_id
        self._template_check = template_check

    def register(self, bus: CommandBus) -> None:
        bus.register(SendTextMessage, self.handle_send_text)
        bus.register(SendTemplateMessage, self.handle_send_template)

    async def handle_send_text(self, command: SendTextMessage) -> OutboundMessage:
        content = TextContent(command.text, preview_url=command.preview_url)
        return await self._submit(command, content)

    async def handle_send_template(self, command: SendTemplateMessage) -> OutboundMessage:
        await self.check_template(command.template)
        return await self._submit(command, command.template)

    async def check_template(self, template: TemplateMessage) -> None:
        """Refuse, before anything is queued, a template that breaks the deployment's limits (possibly
        stricter than Meta's) or, when a catalogue is kept, does not match the approved template."""
        self._validator.validate(template)
        if self._template_check is not None:
            await self._template_check.check(template)

    async def _submit(self, command: SendTextMessage | SendTemplateMessage, content: Content) -> OutboundMessage:
        message = OutboundMessage.queue(
            id=command.reference or self.new_id(),
            business_number_id=command.business_number_id or self.default_number_id,
            to=command.to,
            content=content,
            now=self._clock.now(),
            conversation_id=command.conversation_id,
            agent_id=command.agent_id,
            client_id=command.client_id,
        )
        stored = await self.outbox.add(message)
        if stored.id != message.id:
            return stored  # the same (agent, client_id) was already accepted: never send it twice
        return await self.deliver(stored)

    async def deliver(
        self,
        message: OutboundMessage,
        *,
        requeue_if_circuit_open: bool = False,
        retry_when_unavailable: bool = False,
    ) -> OutboundMessage:
        """Send a ``queued`` message and settle it. Returns the stored result.

        If the circuit breaker refuses the send, the message is marked failed, or with
        ``requeue_if_circuit_open`` put back to ``queued`` and :class:`CircuitOpen` is raised so that the
        caller (a bulk send) waits and tries again, or with ``retry_when_unavailable`` put back to ``queued``
        for a later try (as after a retryable Graph error; see the module docstring). If another instance took
        the message first, its current state is returned and nothing is sent.
        """
        result = await self._deliver(message, requeue_if_circuit_open, retry_when_unavailable)
        if result.status is not message.status:
            await self.on_settled(result, message.status)
        return result

    async def _deliver(
        self, message: OutboundMessage, requeue_if_circuit_open: bool, retry_when_unavailable: bool
    ) -> OutboundMessage:
        if retry_when_unavailable and self._clock.now() >= message.created_at + CUSTOMER_WINDOW:
            error = GraphError(code=None, http_status=None, title=WINDOW_CLOSED_REASON)
            now = self._clock.now()
            _, after = await settle(self.outbox, message, lambda m: m.cancel(now, WINDOW_CLOSED_REASON))
            if after.status is OutboundStatus.FAILED and message.status is OutboundStatus.QUEUED:
                await self._events.dispatch(
                    MessageFailed(
                        reference=after.id,
                        to=after.to,
                        reason=WINDOW_CLOSED_REASON,
                        at=now,
                        attempts=after.attempts,
                        error_code=error.code,
                        error_title=error.title,
                        conversation_id=after.conversation_id,
                        agent_id=after.agent_id,
                        template_name=after.template_name,
                    )
                )
            return after
        try:
            sending = await self.outbox.save(message.start_sending(self._clock.now()))
        except ConcurrencyConflict:
            current = await self.outbox.get(message.id)
            if current is None:
                raise NotFound(f"outbound message {message.id} disappeared") from None
            return current
        try:
            receipt = await self._sender.send(sending)
        except CircuitOpen as exc:
            attempts = sending.attempts + exc.attempts
            if requeue_if_circuit_open:
                await settle(self.outbox, sending, lambda m: m.requeue(self._clock.now(), attempts))
                raise
            if retry_when_unavailable:
                return await self._retry_later(sending, attempts)
            error = GraphError(code=None, http_status=None, title=str(exc))
            return await self._failed(sending, error, attempts, "WhatsApp is unavailable right now: try again later")
        except SendFailed as exc:
            attempts = sending.attempts + exc.attempts
            if retry_when_unavailable and classify(exc.error.code, exc.error.http_status) is not ErrorClass.PERMANENT:
                return await self._retry_later(sending, attempts)
            return await self._failed(sending, exc.error, attempts, agent_message(exc.error))
        except SendOutcomeUnknown as exc:
            return await self._unknown(sending, sending.attempts + exc.attempts)
        except Exception:
            # A bug or an unexpected error after the request may have left: the outcome is unknown.
            _log.exception("unexpected error while sending outbound message %s", sending.id)
            await self._unknown(sending, sending.attempts + 1)
            raise
        now = self._clock.now()
        before, after = await settle(
            self.outbox, sending, lambda m: m.mark_sent(receipt.wamid, now, sending.attempts + receipt.attempts)
        )
        if before.status in (OutboundStatus.SENDING, OutboundStatus.UNKNOWN) and after.status is not before.status:
            await self._events.dispatch(sent_event(after))
            if isinstance(after.content, TemplateMessage):
                await self._events.dispatch(
                    TemplateUsed(after.id, after.content.name, after.content.language, after.to, now)
                )
        return after

    async def _retry_later(self, sending: OutboundMessage, attempts: int) -> OutboundMessage:
        """Graph is unavailable: back to ``queued``, not before an exponentially growing delay (1 s, 2 s, 4 s…
        capped at 5 minutes), for the sender loop to try again."""
        now = self._clock.now()
        delay = min(timedelta(seconds=2 ** min(max(attempts - 1, 0), 16)), _MAX_RETRY_DELAY)
        _, after = await settle(self.outbox, sending, lambda m: m.requeue(now, attempts, not_before=now + delay))
        return after

    async def send_due(self, *, limit: int = _PAGE, concurrency: int = 16) -> int:
        """The sender loop's step: claim and send every ``queued`` message that is due, up to ``limit``,
        ``concurrency`` requests at a time (each claim is the compare-and-set to ``sending``: a message another
        instance claimed first is skipped). Returns how many this call moved on (sent, failed, unknown).
        Replies are retried later if Graph is unavailable. Throughput stays within the sender's limiter."""
        due = await self.outbox.list_due(self._clock.now(), limit=limit)
        if not due:
            return 0
        gate = asyncio.Semaphore(max(1, concurrency))

        async def one(message: OutboundMessage) -> bool:
            async with gate:
                result = await self.deliver(message, retry_when_unavailable=True)
            return result.status is not OutboundStatus.QUEUED

        return sum(await asyncio.gather(*(one(message) for message in due)))

    async def _failed(self, sending: OutboundMessage, error: GraphError, attempts: int, reason: str) -> OutboundMessage:
        now = self._clock.now()
        before, after = await settle(self.outbox, sending, lambda m: m.mark_failed(error, now, attempts))
        if after.status is OutboundStatus.FAILED and before.status is not OutboundStatus.FAILED:
            await self._events.dispatch(
                MessageFailed(
                    reference=after.id,
                    to=after.to,
                    reason=reason,
                    at=now,
                    attempts=attempts,
                    error_code=error.code,
                    error_title=error.title,
                    conversation_id=after.conversation_id,
                    agent_id=after.agent_id,
                    template_name=after.template_name,
                )
            )
        return after

    async def _unknown(self, sending: OutboundMessage, attempts: int) -> OutboundMessage:
        now = self._clock.now()
        before, after = await settle(self.outbox, sending, lambda m: m.mark_unknown(now, attempts))
        if after.status is OutboundStatus.UNKNOWN and before.status is not OutboundStatus.UNKNOWN:
            await self._events.dispatch(
                MessageStatusChanged(
                    reference=after.id,
                    status=OutboundStatus.UNKNOWN,
                    previous=before.status,
                    at=now,
                    conversation_id=after.conversation_id,
                    agent_id=after.agent_id,
                )
            )
        return after

    async def recover(self, *, stale_after: timedelta = timedelta(minutes=5)) -> RecoveryReport:
        """After a crash (and periodically): sends left ``sending`` for longer than ``stale_after`` become
        ``unknown`` (never resent; a status webhook settles them); messages left ``queued`` that long are
        sent. Stops resuming at the first :class:`CircuitOpen`: the rest waits for the next run."""
        cutoff = self._clock.now() - stale_after
        marked = 0
        while stuck := await self.outbox.list_by_status(OutboundStatus.SENDING, updated_before=cutoff, limit=_PAGE):
            for message in stuck:
                before, after = await settle(
                    self.outbox, message, lambda m: m.mark_unknown(self._clock.now(), m.attempts)
                )
                if after.status is OutboundStatus.UNKNOWN and before.status is OutboundStatus.SENDING:
                    marked += 1
                    await self.on_settled(after, OutboundStatus.SENDING)
                    await self._events.dispatch(
                        MessageStatusChanged(
                            reference=after.id,
                            status=OutboundStatus.UNKNOWN,
                            previous=OutboundStatus.SENDING,
                            at=self._clock.now(),
                            conversation_id=after.conversation_id,
                            agent_id=after.agent_id,
                        )
                    )
        resumed = 0
        while queued := await self.outbox.list_by_status(OutboundStatus.QUEUED, updated_before=cutoff, limit=_PAGE):
            for message in queued:
                try:
                    await self.deliver(message, requeue_if_circuit_open=True)
                except CircuitOpen:
                    return RecoveryReport(marked_unknown=marked, resumed=resumed)
                resumed += 1
        return RecoveryReport(marked_unknown=marked, resumed=resumed)


def sent_event(message: OutboundMessage, *, reconciled: bool = False) -> MessageSent:
    """The :class:`MessageSent` event of a message that reached ``sent`` (or beyond)."""
    return MessageSent(
        reference=message.id,
        to=message.to,
        wamid=message.wamid,
        kind=message.kind,
        at=message.sent_at or message.updated_at,
        requested_at=message.created_at,
        attempts=message.attempts,
        conversation_id=message.conversation_id,
        agent_id=message.agent_id,
        template_name=message.template_name,
        reconciled=reconciled,
    )
