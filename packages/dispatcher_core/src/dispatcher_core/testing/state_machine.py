"""A hypothesis ``RuleBasedStateMachine`` that drives the orchestrator against a tiny model and checks the
invariants I1-I8 (docs/architecture.md, "Invariants") after every step (and at the moment each event is published).

    TestMemory = dispatcher_state_machine(lambda: memory_store()).TestCase

``store_factory`` is a zero-argument callable returning an async context manager that yields a
:class:`~dispatcher_core.ports.UnitOfWorkFactory` over a fresh, empty store. The machine runs its own event
loop and enters the factory inside it, so adapters bound to a loop (asyncpg, redis) work.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from datetime import timedelta
from typing import Any, TypeVar

from dispatcher_core.entities import ConversationStatus, IncomingMessage, PresenceStatus
from dispatcher_core.errors import NotConversationOwner
from dispatcher_core.events import (
    ConversationAssigned,
    ConversationClosed,
    ConversationReleased,
    DomainEvent,
)
from dispatcher_core.orchestrator import DispatcherOrchestrator
from dispatcher_core.ports import UnitOfWorkFactory
from dispatcher_core.services.scheduler import DispatcherScheduler
from dispatcher_core.settings import DispatcherSettings
from dispatcher_core.testing._extra import require_testing_extra
from dispatcher_core.testing.clock import ManualClock
from dispatcher_core.types import RoutingPolicy

require_testing_extra("dispatcher_core.testing.state_machine", "hypothesis")

# E402: hypothesis is imported once the check above has explained how to get it.
from hypothesis import strategies as st  # noqa: E402
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule  # noqa: E402

__all__ = ["StoreFactory", "dispatcher_state_machine"]

T = TypeVar("T")
StoreFactory = Callable[[], AbstractAsyncContextManager[UnitOfWorkFactory]]

AGENTS = ("agent-1", "agent-2", "agent-3", "agent-4")
SOCKETS = ("sock-a", "sock-b")
CUSTOMERS = ("c1", "c2", "c3", "c4", "c5", "c6")
BUSINESSES = ("bn-1", "bn-2")
STEPS = (1, 10, 31, 600, 1800, 3600, 3 * 3600, 25 * 3600)


def dispatcher_state_machine(
    store_factory: StoreFactory, *, capacity: int = 0, policy: RoutingPolicy = RoutingPolicy.ROUND_ROBIN
) -> type[RuleBasedStateMachine]:
    """Build the machine class for one store (one agent capacity, 0 = unlimited; one routing policy - I4, the
    fairness of the round-robin, is checked under ``round_robin`` only)."""
    settings = DispatcherSettings(
        agent_capacity=capacity,
        routing_policy=policy,
        response_timeout=timedelta(hours=1),
        inactivity_timeout=timedelta(hours=2),
        timeout_check_interval=timedelta(minutes=30),
        disconnect_grace=timedelta(seconds=30),
    )

    class DispatcherMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.loop = asyncio.new_event_loop()
            self.stack = AsyncExitStack()
            self.clock = ManualClock()
            self.uow_factory = self.run(self.stack.enter_async_context(store_factory()))
            counter = itertools.count(1)
            self.orchestrator = DispatcherOrchestrator(
                uow_factory=self.uow_factory,
                publisher=self,
                clock=self.clock,
                settings=settings,
                new_id=lambda: f"id-{next(counter):06d}",
            )
            self.scheduler = DispatcherScheduler(
                orchestrator=self.orchestrator, uow_factory=self.uow_factory, clock=self.clock, settings=settings
            )
            # the model
            self.sockets: dict[str, set[str]] = {agent: set() for agent in AGENTS}
            self.accepted: set[tuple[str, str]] = set()
            self.owner: dict[str, str | None] = {}
            self.closed: set[str] = set()
            self.assignments: list[tuple[str, str | None]] = []  # (agent, excluded previous agent)
            self.window_start: dict[str, int] = dict.fromkeys(AGENTS, 0)
            self.slots_run: set[tuple[str, str]] = set()

        # -- plumbing -------------------------------------------------------------------------------------

        def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
            return self.loop.run_until_complete(coroutine)

        def teardown(self) -> None:
            try:
                self.run(self.stack.aclose())
            finally:
                self.loop.close()

        def online(self, agent: str) -> bool:
            return bool(self.sockets[agent])

        async def publish(self, events: Sequence[DomainEvent]) -> None:
            """The machine is the EventPublisher: it checks I1, I3, I8 at the moment of each event."""
            for event in events:
                if isinstance(event, ConversationAssigned):
                    cid = event.conversation_id
                    assert cid not in self.closed, f"I8: closed conversation {cid} assigned again"
                    assert self.owner.get(cid) is None, f"I1: {cid} assigned to {event.agent_id} while owned"
                    assert self.online(event.agent_id), f"I3: {cid} assigned to offline {event.agent_id}"
                    self.owner[cid] = event.agent_id
                    if capacity:
                        load = sum(1 for owner in self.owner.values() if owner == event.agent_id)
                        assert load <= capacity, f"I3: {event.agent_id} over capacity ({load})"
                    self.assignments.append((event.agent_id, event.previous_agent_id))
                    if event.reason == "response_timeout" and event.previous_agent_id is not None:
                        # the timed-out agent was excluded from this pick: its fairness window restarts
                        self.window_start[event.previous_agent_id] = len(self.assignments)
                elif isinstance(event, ConversationReleased):
                    assert self.owner.get(event.conversation_id) == event.agent_id, "I1: release by non-owner"
                    self.owner[event.conversation_id] = None
                elif isinstance(event, ConversationClosed):
                    self.owner[event.conversation_id] = None
                    self.closed.add(event.conversation_id)

        async def _open_conversations(self) -> list[Any]:
            async with self.uow_factory() as uow:
                return list(await uow.conversations.list(status=ConversationStatus.OPEN, limit=100_000))

        # -- rules ----------------------------------------------------------------------------------------

        @rule(
            customer=st.sampled_from(CUSTOMERS),
            business=st.sampled_from(BUSINESSES),
            external=st.integers(0, 40),
        )
        def customer_writes(self, customer: str, business: str, external: int) -> None:
            key = (business, f"wamid.{external}")
            incoming = IncomingMessage(
                business_number_id=business, customer_id=customer, external_id=key[1], text=f"hello {external}"
            )
            outcome = self.run(self.orchestrator.handle_incoming_message(incoming))
            assert outcome.duplicate == (key in self.accepted), f"I2: duplicate detection wrong for {key}"
            self.accepted.add(key)

        @rule(agent=st.sampled_from(AGENTS), socket=st.sampled_from(SOCKETS))
        def agent_connects(self, agent: str, socket: str) -> None:
            if not self.online(agent):
                self.window_start[agent] = len(self.assignments)
            self.sockets[agent].add(socket)
            self.run(self.orchestrator.handle_agent_connected(agent, socket))

        @rule(agent=st.sampled_from(AGENTS), socket=st.sampled_from(SOCKETS))
        def agent_disconnects(self, agent: str, socket: str) -> None:
            self.sockets[agent].discard(socket)
            self.run(self.orchestrator.handle_agent_disconnected(agent, socket))

        @rule(seconds=st.sampled_from(STEPS))
        def time_passes(self, seconds: int) -> None:
            self.clock.advance(timedelta(seconds=seconds))

        @rule()
        def grace_check(self) -> None:
            self.run(self.scheduler.check_disconnect_grace())
            self.run(self._check_grace_applied())

        async def _check_grace_applied(self) -> None:
            """Rule 4: after a grace check, nobody is still in grace past the deadline, and agents who are
            offline hold no conversation."""
            now = self.clock.now()
            async with self.uow_factory() as uow:
                for presence in await uow.presence.list():
                    if presence.status is PresenceStatus.GRACE:
                        assert presence.grace_until is not None
                        assert presence.grace_until > now, f"rule 4: {presence.agent_id} still in grace"
                    if presence.status is PresenceStatus.OFFLINE:
                        held = await uow.conversations.list_by_agent(presence.agent_id)
                        assert not held, f"rule 4: offline {presence.agent_id} still holds conversations"

        @rule()
        def response_timeout_check(self) -> None:
            interval = int(settings.timeout_check_interval.total_seconds())
            slot = ("timeouts", str(int(self.clock.now().timestamp()) // interval))
            result = self.run(self.scheduler.check_response_timeout())
            assert (result is not None) == (slot not in self.slots_run), "I7: timeout slot run twice or never"
            self.slots_run.add(slot)
            if result is not None:
                self.run(self._check_deadlines_applied())

        async def _check_deadlines_applied(self) -> None:
            """Rules 6 and 7, restated independently of TimeoutPolicy: right after a check, no assigned
            conversation is past its response deadline and no idle one is past the inactivity timeout."""
            now = self.clock.now()
            for conv in await self._open_conversations():
                if conv.oldest_unanswered_at is None:
                    assert now - conv.last_activity_at < settings.inactivity_timeout, f"rule 7: {conv.id} idle"
                elif conv.agent_id is not None:
                    waiting_since = max(conv.oldest_unanswered_at, conv.assigned_at or conv.oldest_unanswered_at)
                    if now - waiting_since >= settings.response_timeout:
                        # allowed only if nobody else could take it: then its agent keeps it
                        others = [a for a in AGENTS if a != conv.agent_id and self.online(a) and self._has_capacity(a)]
                        assert not others, f"rule 6: {conv.id} unanswered while {others} could take it"

        def _has_capacity(self, agent: str) -> bool:
            return not capacity or sum(1 for owner in self.owner.values() if owner == agent) < capacity

        @rule()
        def scheduled_distribution(self) -> None:
            slot = ("distribution", self.clock.now().astimezone(settings.zone).date().isoformat())
            result = self.run(self.scheduler.scheduled_distribution())
            assert (result is not None) == (slot not in self.slots_run), "I7: daily slot run twice or never"
            self.slots_run.add(slot)

        @rule()
        def admin_distributes(self) -> None:
            self.run(self.orchestrator.distribute_pending_messages())

        @precondition(lambda self: any(owner is not None for owner in self.owner.values()))
        @rule(pick=st.integers(0, 1000), close=st.booleans(), wrong_agent=st.booleans())
        def agent_acts(self, pick: int, close: bool, wrong_agent: bool) -> None:
            owned = sorted(cid for cid, owner in self.owner.items() if owner is not None)
            cid = owned[pick % len(owned)]
            owner = self.owner[cid]
            assert owner is not None
            if wrong_agent:
                intruder = next(agent for agent in AGENTS if agent != owner)
                action = self.orchestrator.close_conversation if close else self.orchestrator.handle_agent_replied
                try:
                    self.run(action(intruder, cid))
                except NotConversationOwner:
                    return
                raise AssertionError("an agent acted on another agent's conversation")
            if close:
                self.run(self.orchestrator.close_conversation(owner, cid))
            else:
                self.run(self.orchestrator.handle_agent_replied(owner, cid))

        # -- invariants -----------------------------------------------------------------------------------

        @invariant()
        def stores_agree_with_the_model(self) -> None:
            self.run(self._check_store())

        async def _check_store(self) -> None:
            open_conversations = await self._open_conversations()
            keys = Counter((c.business_number_id, c.customer_id) for c in open_conversations)
            assert all(n == 1 for n in keys.values()), f"I1: several open conversations for a key {keys}"
            for conv in open_conversations:
                assert self.owner.get(conv.id) == conv.agent_id, f"events and store disagree on {conv.id}"
                assert conv.id not in self.closed, "I8: a closed conversation is open again"
            async with self.uow_factory() as uow:
                pending = {c.id for c in await uow.conversations.list_pending()}
                pending_messages = list(await uow.pending.list())
                queue = list(await uow.queue.list())
                presences = {p.agent_id: p for p in await uow.presence.list()}
                stored: Counter[tuple[str, str]] = Counter()
                undelivered: set[str] = set()
                for conv in await uow.conversations.list(limit=100_000):
                    for msg in await uow.conversations.get_messages(conv.id):
                        stored[(msg.business_number_id, msg.external_id)] += 1
                        if msg.delivered_to is None:
                            undelivered.add(msg.id)
            # I5: open with no agent <=> pending
            assert pending == {c.id for c in open_conversations if c.agent_id is None}, "I5"
            # I2: stored exactly once; every message delivered or still pending, never both
            assert set(stored) == self.accepted, "I2: accepted messages and stored messages differ"
            assert all(n == 1 for n in stored.values()), "I2: a message is stored twice"
            pending_ids = [p.message_id for p in pending_messages]
            assert len(pending_ids) == len(set(pending_ids)), "I2: a message is pending twice"
            assert set(pending_ids) == undelivered, "I2: a message is neither delivered nor pending"
            assert {p.conversation_id for p in pending_messages} <= pending, "pending message of assigned conv"
            # presence and queue follow the sockets
            online = {agent for agent in AGENTS if self.online(agent)}
            assert set(queue) == online, f"queue {queue} != online agents {online}"
            for agent in online:
                assert presences[agent].status is PresenceStatus.ONLINE
            # I6: nothing waits while an online agent has spare capacity
            if pending:
                loads = Counter(c.agent_id for c in open_conversations if c.agent_id is not None)
                spare = [a for a in online if not capacity or loads[a] < capacity]
                assert not spare, f"I6: {len(pending)} pending while {spare} can take work"

        @invariant()
        def rotation_is_fair(self) -> None:
            """I4: two agents online together, never excluded, differ by at most one new assignment."""
            if capacity or policy is not RoutingPolicy.ROUND_ROBIN:
                return
            online = [agent for agent in AGENTS if self.online(agent)]
            for first, second in itertools.combinations(online, 2):
                start = max(self.window_start[first], self.window_start[second])
                counts = Counter(agent for agent, _ in self.assignments[start:])
                assert abs(counts[first] - counts[second]) <= 1, (
                    f"I4: {first}={counts[first]} {second}={counts[second]} since assignment #{start}"
                )

    return DispatcherMachine
