"""The conductor (seed: ``dispatcher.orchestrator.ts``): receives what happens, asks the deciding services,
applies their typed decisions through a unit of work and publishes the resulting events.

It never decides itself: who gets a conversation is ``AssignmentService.decide``; which deadline has passed
is ``TimeoutPolicy``. Every operation is one or more read -> decide -> apply cycles; a cycle whose commit
reports a :class:`~dispatcher_core.errors.ConcurrencyConflict` is retried from the read, so several instances
sharing a store stay correct. A cycle's events are recorded in its unit of work right before the commit
(``uow.events``: a store that carries events commits them with the state) and published only after it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar, assert_never

from dispatcher_core.entities import (
    AgentPresence,
    Conversation,
    IncomingMessage,
    Message,
    MessageDirection,
    PresenceStatus,
)
from dispatcher_core.errors import (
    ConcurrencyConflict,
    ConversationAlreadyClosed,
    ConversationNotFound,
    InvalidInput,
    NotConversationOwner,
    RetriesExhausted,
)
from dispatcher_core.events import (
    AgentStatusChanged,
    AssignmentReason,
    ConversationAssigned,
    ConversationClosed,
    ConversationPending,
    ConversationReleased,
    DomainEvent,
    MessageReceived,
    QueueUpdated,
)
from dispatcher_core.messaging.outbound import OutboundMessage, TextContent
from dispatcher_core.orchestrator.queries import DispatcherQueries
from dispatcher_core.ports import Clock, EventPublisher, UnitOfWork, UnitOfWorkFactory
from dispatcher_core.services.assignment import AssignmentService
from dispatcher_core.services.pending import PendingMessageService
from dispatcher_core.services.queue import QueueService
from dispatcher_core.services.timeout import TimeoutPolicy
from dispatcher_core.settings import DispatcherSettings
from dispatcher_core.types import (
    AssignmentDecision,
    AssignNewAgent,
    CloseConversation,
    KeepCurrentAgent,
    NoTimeoutAction,
    Pending,
    ReassignConversation,
)

_log = logging.getLogger(__name__)

__all__ = ["AgentReply", "DispatcherOrchestrator", "DistributionResult", "IncomingOutcome", "TimeoutResult"]

#: Builds the outbound message of a reply from the conversation it answers and the time of the reply.
OutboundFactory = Callable[[Conversation, datetime], OutboundMessage]

T = TypeVar("T")
Events = list[DomainEvent]


#: How many pending conversations one distribution cycle claims.
_DRAIN_BATCH = 16


def _uuid() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class IncomingOutcome:
    """What became of an incoming message. ``decision`` is ``None`` for a duplicate (nothing stored)."""

    duplicate: bool
    conversation_id: str | None
    decision: AssignmentDecision | None


@dataclass(frozen=True, slots=True)
class AgentReply:
    """What :meth:`DispatcherOrchestrator.handle_agent_reply` stored: the conversation (answered), the
    outbound message as stored; ``duplicate`` when the agent's ``client_id`` had been seen (nothing stored,
    ``message`` is the first one)."""

    conversation: Conversation
    message: OutboundMessage
    duplicate: bool


@dataclass(frozen=True, slots=True)
class DistributionResult:
    assigned: int
    still_pending: int


@dataclass(frozen=True, slots=True)
class TimeoutResult:
    reassigned: int
    made_pending: int
    closed: int


class DispatcherOrchestrator:
    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        publisher: EventPublisher,
        clock: Clock,
        settings: DispatcherSettings | None = None,
        assignment: AssignmentService | None = None,
        timeout_policy: TimeoutPolicy | None = None,
        new_id: Callable[[], str] = _uuid,
    ) -> None:
        self._uow_factory = uow_factory
        self._publisher = publisher
        self._clock = clock
        self._settings = settings or DispatcherSettings()
        self._assignment = assignment or AssignmentService(self._settings.routing_policy, self._settings.agent_capacity)
        self._timeouts = timeout_policy or TimeoutPolicy(self._settings)
        self._new_id = new_id
        self._queries = DispatcherQueries(uow_factory, self._settings.agent_capacity)

    @property
    def queries(self) -> DispatcherQueries:
        """The read side, for a host application: queue, conversations, pending (:mod:`.queries`)."""
        return self._queries

    # ------------------------------------------------------------------ incoming message (flow 6.1, rule 1)

    async def handle_incoming_message(self, incoming: IncomingMessage) -> IncomingOutcome:
        """Persist the message once, find or open its conversation, decide, apply."""

        async def cycle(uow: UnitOfWork, events: Events) -> IncomingOutcome:
            now = self._clock.now()
            existing = await uow.conversations.get_open_by_key(incoming.business_number_id, incoming.customer_id)
            conversation = existing or Conversation.open(
                id=self._new_id(),
                business_number_id=incoming.business_number_id,
                customer_id=incoming.customer_id,
                customer_name=incoming.customer_name,
                now=now,
            )
            current_available = await self._current_agent_available(uow, conversation)
            next_agent = None
            if self._assignment.needs_next_agent(conversation, current_available):
                next_agent = await self._next_agent(uow)
            decision = self._assignment.decide(existing, current_available, next_agent)

            message = Message(
                id=self._new_id(),
                conversation_id=conversation.id,
                business_number_id=incoming.business_number_id,
                external_id=incoming.external_id,
                direction=MessageDirection.INBOUND,
                kind=incoming.kind,
                text=incoming.text,
                received_at=now,
                sent_at=incoming.sent_at,
            )
            conversation = conversation.record_customer_message(now).with_customer_name(incoming.customer_name)

            previous = existing.agent_id if existing is not None else None
            if not await self._store_incoming(
                uow, existing, conversation=conversation, message=message, decision=decision, now=now
            ):
                return IncomingOutcome(duplicate=True, conversation_id=None, decision=None)
            if previous is not None and not isinstance(decision, KeepCurrentAgent):
                # Its agent is gone without the release having happened yet (e.g. presence expired).
                events.append(ConversationReleased(conversation.id, previous, "disconnected", now))
            match decision:
                case KeepCurrentAgent(agent_id=agent_id):
                    events.append(MessageReceived(conversation.id, agent_id, message.delivered(agent_id)))
                case AssignNewAgent(agent_id=agent_id):
                    was_pending = existing is not None and existing.is_pending
                    await self._hand_over(
                        uow,
                        events,
                        conversation,
                        agent_id,
                        now,
                        reason="pending" if was_pending else "new",
                        previous=previous,
                    )
                case Pending():
                    await self._pending_service(uow).add_pending_message(message, now)
                    if previous is not None or existing is None:
                        events.append(ConversationPending(conversation.id, now))
                case _:
                    assert_never(decision)
            await self._commit(uow, events)
            _log.debug("message %s: %s in conversation %s", incoming.external_id, decision.type, conversation.id)
            return IncomingOutcome(duplicate=False, conversation_id=conversation.id, decision=decision)

        return await self._run(cycle)

    async def _store_incoming(
        self,
        uow: UnitOfWork,
        existing: Conversation | None,
        *,
        conversation: Conversation,
        message: Message,
        decision: AssignmentDecision,
        now: datetime,
    ) -> bool:
        """Write the conversation as the decision leaves it, then the message; ``False`` if the message is a
        duplicate, in which case the caller returns without committing (nothing is applied) and before any
        event is recorded (nothing is published)."""
        match decision:
            case KeepCurrentAgent(agent_id=agent_id) | AssignNewAgent(agent_id=agent_id):
                message = message.delivered(agent_id)
                if isinstance(decision, AssignNewAgent):
                    conversation = conversation.assign_to(agent_id, now)
            case Pending():
                conversation = conversation.release(now)
            case _:
                assert_never(decision)
        if existing is None:
            await uow.conversations.add(conversation)
        else:
            await uow.conversations.save(conversation)
        return await uow.conversations.add_message(message)

    # ------------------------------------------------------------------ agents (flows 6.2 and 6.3, rules 3-4)

    async def handle_agent_connected(self, agent_id: str, connection_id: str) -> bool:
        """A socket of ``agent_id`` opened. On the agent's first socket: join the queue at the end, publish the
        queue, then distribute pending conversations. Returns whether this was the first socket."""
        if not agent_id or not connection_id:
            raise InvalidInput("agent id and connection id must be non-empty strings")

        async def cycle(uow: UnitOfWork, events: Events) -> bool:
            now = self._clock.now()
            presence = await uow.presence.get(agent_id) or AgentPresence.offline(agent_id, now)
            first = presence.status is not PresenceStatus.ONLINE
            await uow.presence.save(presence.connect(connection_id, now))
            if first:
                queue = self._queue(uow)
                await queue.add_to_queue(agent_id)
                events.append(AgentStatusChanged(agent_id, PresenceStatus.ONLINE, now))
                events.append(QueueUpdated(tuple(await queue.get_queue_positions())))
            await self._commit(uow, events)
            return first

        first = await self._run(cycle)
        if first:
            await self.distribute_pending_messages()
        return first

    async def handle_agent_disconnected(self, agent_id: str, connection_id: str) -> bool:
        """A socket of ``agent_id`` closed. On the last one: leave the queue at once, keep the conversations
        for the grace period (released later by :meth:`release_expired_agents`). Returns whether this was the
        last socket. Unknown connections are ignored."""

        async def cycle(uow: UnitOfWork, events: Events) -> bool:
            now = self._clock.now()
            presence = await uow.presence.get(agent_id)
            if presence is None or connection_id not in presence.connections:
                return False
            updated = presence.disconnect(connection_id, now, self._timeouts.grace_deadline(now))
            await uow.presence.save(updated)
            last = updated.status is PresenceStatus.GRACE
            if last:
                queue = self._queue(uow)
                await queue.remove_from_queue(agent_id)
                events.append(AgentStatusChanged(agent_id, PresenceStatus.GRACE, now))
                events.append(QueueUpdated(tuple(await queue.get_queue_positions())))
            await self._commit(uow, events)
            return last

        last = await self._run(cycle)
        if last:
            await self.release_expired_agents()
        return last

    async def release_expired_agents(self) -> int:
        """Agents whose grace period is over go offline; their open conversations become pending and are
        redistributed to agents still online (rule 4). Returns the number of conversations released."""
        now = self._clock.now()
        async with self._uow_factory() as uow:
            in_grace = await uow.presence.list(PresenceStatus.GRACE)
        released = 0
        for presence in in_grace:
            if self._timeouts.grace_expired(presence, now):
                released += await self._release_agent(presence.agent_id)
        if released:
            await self.distribute_pending_messages()
        return released

    async def _release_agent(self, agent_id: str) -> int:
        async def cycle(uow: UnitOfWork, events: Events) -> int:
            now = self._clock.now()
            presence = await uow.presence.get(agent_id)
            if presence is None or not self._timeouts.grace_expired(presence, now):
                return 0  # reconnected meanwhile, or another instance got here first
            await uow.presence.save(presence.go_offline(now))
            events.append(AgentStatusChanged(agent_id, PresenceStatus.OFFLINE, now))
            conversations = await uow.conversations.list_by_agent(agent_id)
            for conversation in conversations:
                released = conversation.release(now)
                await uow.conversations.save(released)
                events.append(ConversationReleased(conversation.id, agent_id, "disconnected", now))
                events.append(ConversationPending(conversation.id, now))
            await self._commit(uow, events)
            return len(conversations)

        return await self._run(cycle)

    # ------------------------------------------------------------------ pending (rules 3, 5 and 8)

    async def distribute_pending_messages(self) -> DistributionResult:
        """Pending conversations, oldest first, go through the decision path until none is left or nobody
        can take one. Claimed in batches: each cycle takes up to ``_DRAIN_BATCH`` of the oldest and decides
        them one by one (the unit of work reads its own writes, so each decision sees the rotation and loads
        the previous ones left). Concurrent drains on several instances conflict on the same conversations and
        retry from a fresh read, so nothing is delivered twice."""
        assigned = 0
        while True:
            batch_assigned, more = await self._run(self._distribute_batch)
            assigned += batch_assigned
            if not more:
                break
        async with self._uow_factory() as uow:
            still_pending = await uow.conversations.count_pending()
        return DistributionResult(assigned=assigned, still_pending=still_pending)

    async def _distribute_batch(self, uow: UnitOfWork, events: Events) -> tuple[int, bool]:
        """Returns how many were assigned, and whether there may be more to do."""
        batch = await uow.conversations.list_pending(limit=_DRAIN_BATCH)
        now = self._clock.now()
        assigned = 0
        for conversation in batch:
            next_agent = await self._next_agent(uow)
            decision = self._assignment.decide(conversation, False, next_agent)
            match decision:
                case AssignNewAgent(agent_id=agent_id):
                    await self._assign(uow, events, conversation, agent_id, now, reason="pending")
                    assigned += 1
                case Pending():
                    break
                case KeepCurrentAgent():
                    raise AssertionError("a pending conversation has no current agent to keep")
                case _:
                    assert_never(decision)
        if assigned:
            await self._commit(uow, events)
        return assigned, assigned == len(batch) == _DRAIN_BATCH

    # ------------------------------------------------------------------ deadlines (rules 6 and 7)

    async def handle_timeouts(self) -> TimeoutResult:
        """Apply the timeout policy to every candidate conversation; then redistribute if capacity freed."""
        now = self._clock.now()
        cutoffs = self._timeouts.cutoffs(now)
        async with self._uow_factory() as uow:
            candidates = await uow.conversations.list_timeout_candidates(
                unanswered_before=cutoffs.unanswered_before, inactive_before=cutoffs.inactive_before
            )
        counts = {"reassigned": 0, "pending": 0, "closed": 0}
        remaining = [candidate.id for candidate in candidates]
        # A conversation kept by its agent because nobody else had capacity is looked at again once a later
        # reassignment or close of the same check freed some. Each pass that changes anything moves at least
        # one conversation, which then has a fresh deadline, so this ends.
        while remaining:
            kept: list[str] = []
            for conversation_id in remaining:
                outcome = await self._run(functools.partial(self._apply_timeout, conversation_id=conversation_id))
                if outcome == "kept":
                    kept.append(conversation_id)
                elif outcome is not None:
                    counts[outcome] += 1
            if len(kept) == len(remaining):
                break
            remaining = kept
        if counts["closed"] or counts["pending"] or counts["reassigned"]:
            await self.distribute_pending_messages()
        return TimeoutResult(reassigned=counts["reassigned"], made_pending=counts["pending"], closed=counts["closed"])

    async def _apply_timeout(self, uow: UnitOfWork, events: Events, conversation_id: str) -> str | None:
        now = self._clock.now()
        conversation = await uow.conversations.get(conversation_id)
        if conversation is None:
            return None
        timeout = self._timeouts.evaluate(conversation, now)
        match timeout:
            case NoTimeoutAction():
                return None
            case CloseConversation(reason=reason):
                await self._close(uow, events, conversation, reason, now)
                await self._commit(uow, events)
                return "closed"
            case ReassignConversation(agent_id=previous):
                next_other = await self._next_agent(uow, exclude={previous})
                available = await self._current_agent_available(uow, conversation)
                decision = self._assignment.decide_reassignment(conversation, available, next_other)
                match decision:
                    case KeepCurrentAgent():
                        return "kept"  # nobody else can take it now: it stays with its agent
                    case AssignNewAgent(agent_id=agent_id):
                        events.append(ConversationReleased(conversation.id, previous, "response_timeout", now))
                        await self._assign(
                            uow, events, conversation, agent_id, now, reason="response_timeout", previous=previous
                        )
                        outcome = "reassigned"
                    case Pending():
                        events.append(ConversationReleased(conversation.id, previous, "response_timeout", now))
                        await uow.conversations.save(conversation.release(now))
                        events.append(ConversationPending(conversation.id, now))
                        outcome = "pending"
                    case _:
                        assert_never(decision)
                await self._commit(uow, events)
                return outcome
            case _:
                assert_never(timeout)

    # ------------------------------------------------------------------ agent actions

    async def handle_agent_replied(self, agent_id: str, conversation_id: str) -> Conversation:
        """The agent answered: the customer's messages so far are answered (rule 6 bookkeeping)."""

        async def cycle(uow: UnitOfWork, events: Events) -> Conversation:
            conversation = await self._owned(uow, agent_id, conversation_id)
            answered = conversation.record_agent_reply(self._clock.now())
            await uow.conversations.save(answered)
            await self._commit(uow, events)
            return answered

        return await self._run(cycle)

    async def handle_agent_reply(self, agent_id: str, conversation_id: str, outbound: OutboundFactory) -> AgentReply:
        """The agent answered with a message to send (DESIGN I9): in ONE unit of work, the outbound message
        goes into the outbox (``queued``, or ``recorded`` when nothing is sent), into the conversation's
        history (direction ``out``, in arrival order with the customer's messages), and the customer's
        messages are marked answered (rule 6). Sending happens after the commit, from the outbox. A
        ``client_id`` the agent already used returns the first reply and changes nothing."""

        async def cycle(uow: UnitOfWork, events: Events) -> AgentReply:
            conversation = await self._owned(uow, agent_id, conversation_id)
            now = self._clock.now()
            message = outbound(conversation, now)
            stored = await uow.outbox.add(message)
            if stored.id != message.id:
                return AgentReply(conversation, stored, duplicate=True)
            await uow.conversations.add_message(
                Message(
                    id=stored.id,
                    conversation_id=conversation.id,
                    business_number_id=conversation.business_number_id,
                    external_id=f"out:{stored.id}",
                    direction=MessageDirection.OUTBOUND,
                    kind=stored.kind,
                    text=stored.content.body if isinstance(stored.content, TextContent) else stored.template_name,
                    received_at=now,
                    delivered_to=agent_id,
                )
            )
            answered = conversation.record_agent_reply(now)
            await uow.conversations.save(answered)
            await self._commit(uow, events)
            return AgentReply(answered, stored, duplicate=False)

        return await self._run(cycle)

    async def close_conversation(self, agent_id: str, conversation_id: str) -> None:
        """The agent closes their own conversation. A later customer message opens a new one. Frees capacity,
        so pending work is redistributed."""

        async def cycle(uow: UnitOfWork, events: Events) -> None:
            conversation = await self._owned(uow, agent_id, conversation_id)
            await self._close(uow, events, conversation, "agent", self._clock.now())
            await self._commit(uow, events)

        await self._run(cycle)
        await self.distribute_pending_messages()

    # ------------------------------------------------------------------ helpers

    async def _run(self, cycle: Callable[[UnitOfWork, Events], Awaitable[T]]) -> T:
        """One read -> decide -> apply cycle in its own unit of work, retried on conflict; events published
        after commit."""
        for attempt in range(self._settings.max_conflict_retries):
            events: Events = []
            try:
                async with self._uow_factory() as uow:
                    result = await cycle(uow, events)
            except ConcurrencyConflict:
                # Someone else committed what we read: start over from a fresh read, after a short jittered
                # pause so that contending instances spread out.
                await asyncio.sleep(random.uniform(0, 0.001 * min(attempt + 1, 20)))
                continue
            if events:
                await self._publisher.publish(events)
            return result
        raise RetriesExhausted(f"gave up after {self._settings.max_conflict_retries} conflicting attempts")

    @staticmethod
    async def _commit(uow: UnitOfWork, events: Events) -> None:
        """Commit a cycle: its events go into the unit of work's journal first, so a store that carries events
        commits them in the same transaction as the state they describe (or neither)."""
        if events:
            await uow.events.record(events)
        await uow.commit()

    async def _assign(
        self,
        uow: UnitOfWork,
        events: Events,
        conversation: Conversation,
        agent_id: str,
        now: datetime,
        *,
        reason: AssignmentReason,
        previous: str | None = None,
    ) -> None:
        """Apply ASSIGN_NEW_AGENT to a stored conversation."""
        await uow.conversations.save(conversation.assign_to(agent_id, now))
        await self._hand_over(uow, events, conversation, agent_id, now, reason=reason, previous=previous)

    async def _hand_over(
        self,
        uow: UnitOfWork,
        events: Events,
        conversation: Conversation,
        agent_id: str,
        now: datetime,
        *,
        reason: AssignmentReason,
        previous: str | None,
    ) -> None:
        """The rest of ASSIGN_NEW_AGENT once the assignment is written: hand over the pending messages,
        rotate the queue, announce the conversation with its whole history."""
        pending_service = self._pending_service(uow)
        pending = await pending_service.get_pending_messages(conversation.id)
        for item in pending:
            await pending_service.remove_pending_message(item.id)
        if pending:
            await uow.conversations.mark_delivered([item.message_id for item in pending], agent_id)
        await self._queue(uow).move_to_end(agent_id)
        history = await uow.conversations.get_messages(conversation.id)
        outbound: tuple[OutboundMessage, ...] = ()
        if any(message.direction is MessageDirection.OUTBOUND for message in history):
            outbound = tuple(await uow.outbox.list_by_conversation(conversation.id))  # only if ever replied to
        events.append(
            ConversationAssigned(
                conversation_id=conversation.id,
                agent_id=agent_id,
                business_number_id=conversation.business_number_id,
                customer_id=conversation.customer_id,
                customer_name=conversation.customer_name,
                messages=tuple(history),
                reason=reason,
                at=now,
                previous_agent_id=previous,
                outbound=outbound,
            )
        )

    async def _close(
        self, uow: UnitOfWork, events: Events, conversation: Conversation, reason: str, now: datetime
    ) -> None:
        # Only conversations with nothing pending are closed (an agent's own, or inactive ones with nothing
        # unanswered), so no pending message is ever dropped here.
        await uow.conversations.save(conversation.close(now, reason))
        events.append(ConversationClosed(conversation.id, conversation.agent_id, reason, now))

    async def _owned(self, uow: UnitOfWork, agent_id: str, conversation_id: str) -> Conversation:
        conversation = await uow.conversations.get(conversation_id)
        if conversation is None:
            raise ConversationNotFound(conversation_id)
        if not conversation.is_open:
            raise ConversationAlreadyClosed(f"conversation {conversation_id} is closed")
        if conversation.agent_id != agent_id:
            raise NotConversationOwner(f"conversation {conversation_id} is not assigned to agent {agent_id}")
        return conversation

    async def _current_agent_available(self, uow: UnitOfWork, conversation: Conversation) -> bool:
        if conversation.agent_id is None:
            return False
        return self._assignment.is_agent_available(await uow.presence.get(conversation.agent_id))

    async def _next_agent(self, uow: UnitOfWork, exclude: Collection[str] = ()) -> str | None:
        """Who the assignment service picks among the queued agents (rule 2), reading the loads only when
        its pick depends on them (``AssignmentService.needs_loads``)."""
        loads = await self._loads(uow)
        return await self._queue(uow).get_next_in_queue(
            lambda queued: self._assignment.pick_next_agent(queued, loads, exclude),
            whole_queue=self._assignment.reads_whole_queue,
        )

    async def _loads(self, uow: UnitOfWork) -> Mapping[str, int]:
        if not self._assignment.needs_loads:
            return {}
        return await uow.conversations.count_active_by_agent()

    def _queue(self, uow: UnitOfWork) -> QueueService:
        return QueueService(uow.queue)

    def _pending_service(self, uow: UnitOfWork) -> PendingMessageService:
        return PendingMessageService(uow.pending, self._new_id)
