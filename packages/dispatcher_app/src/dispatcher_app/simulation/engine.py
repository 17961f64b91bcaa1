"""The discrete-event loop: the real orchestrator and scheduler on the memory adapters, on a virtual clock.

Everything that happens is a timed action in one heap, ordered by (instant, kind, insertion order): customer
deliveries and agents' sockets from the scripted :mod:`workload`, the scheduler's jobs at their own cadence
(response-timeout checks every ``timeout_check_interval``, the daily distribution at its local time, a grace
check when each grace period ends), and the agents' replies and closes, which the loop schedules itself when
the events tell an agent it has something to answer. The clock jumps from one action to the next, so a day of
traffic runs in a fraction of a second, and nothing depends on the wall clock: ids come from a counter and
randomness from streams seeded by ``--seed``, so the same options always give the same report.

The loop only *drives*: the dispatcher decides everything, and the figures come from its events
(:mod:`metrics`).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from dispatcher_adapters.memory import MemoryEventBus, MemoryStore
from dispatcher_app.simulation.config import SimulationConfig
from dispatcher_app.simulation.metrics import EventMetrics
from dispatcher_app.simulation.workload import BUSINESS_NUMBER_ID, Delivery, PresenceChange, Workload, build_workload
from dispatcher_core.entities import IncomingMessage
from dispatcher_core.events import ConversationAssigned, ConversationClosed, DomainEvent, MessageReceived
from dispatcher_core.orchestrator import DispatcherOrchestrator
from dispatcher_core.services.scheduler import DispatcherScheduler
from dispatcher_core.testing import ManualClock

__all__ = ["EventObserver", "ProgressCallback", "SimulationResult", "run_simulation", "simulate"]

EventObserver = Callable[[DomainEvent], Awaitable[None]]
#: Called with the fraction of virtual time elapsed (0.0 to 1.0).
ProgressCallback = Callable[[float], None]
Action = Callable[[], Awaitable[None]]

# Order of actions due at the same instant: sockets first (an agent starting at 08:00 is there for the 08:00
# customer), then the scheduler's jobs, then customers, then agents' own actions, then the chart sample.
_PRESENCE, _SCHEDULER, _CUSTOMER, _AGENT, _SAMPLE = range(5)
_CHART_SAMPLES = 120


@dataclass(frozen=True, slots=True)
class SimulationResult:
    config: SimulationConfig
    agent_ids: tuple[str, ...]
    metrics: EventMetrics
    deliveries: int
    messages: int
    duplicates: int
    conversations: int
    replies: int
    agent_closes: int
    connects: int
    disconnects: int
    timeout_checks: int
    scheduled_distributions: int
    grace_checks: int
    open_conversations: int
    pending_conversations: int
    pending_messages: int
    messages_stored: int
    messages_delivered: int


async def simulate(
    config: SimulationConfig,
    *,
    observers: Iterable[EventObserver] = (),
    progress: ProgressCallback | None = None,
) -> SimulationResult:
    """Run the whole simulation in the running event loop and return its figures; ``observers`` (coroutine
    functions) see every event. Usable from async code: a notebook, a test, a service.

    The run never waits on anything real (a virtual clock, in-memory stores), so it holds the loop for its
    whole duration - a fraction of a second for a day of 1,000 messages; give a large run its own thread
    (``await asyncio.to_thread(run_simulation, config)``) if the loop must stay responsive meanwhile."""
    return await _Simulation(config, tuple(observers), progress).run()


def run_simulation(
    config: SimulationConfig,
    *,
    observers: Iterable[EventObserver] = (),
    progress: ProgressCallback | None = None,
) -> SimulationResult:
    """:func:`simulate` for synchronous code: runs it in an event loop of its own (``asyncio.run``), so it
    cannot be called from a running loop - await :func:`simulate` there."""
    return asyncio.run(simulate(config, observers=observers, progress=progress))


class _Simulation:
    def __init__(
        self, config: SimulationConfig, observers: tuple[EventObserver, ...], progress: ProgressCallback | None
    ) -> None:
        self.config = config
        self.workload: Workload = build_workload(config)
        self.clock = ManualClock(config.start)
        self.store = MemoryStore()
        self.bus = MemoryEventBus(history=0)
        ids = itertools.count(1)
        self.orchestrator = DispatcherOrchestrator(
            uow_factory=self.store.unit_of_work,
            publisher=self.bus,
            clock=self.clock,
            settings=config.settings,
            new_id=lambda: f"sim-{next(ids):08d}",
        )
        self.scheduler = DispatcherScheduler(
            orchestrator=self.orchestrator,
            uow_factory=self.store.unit_of_work,
            clock=self.clock,
            settings=config.settings,
        )
        self.metrics = EventMetrics(self.workload.agent_ids, config.settings.agent_capacity)
        self.bus.subscribe(self.metrics.on_event)
        self.bus.subscribe(self._on_event)
        for observer in observers:
            self.bus.subscribe(observer)
        self.progress = progress
        self.behaviour = random.Random(f"behaviour:{config.seed}")
        self.heap: list[tuple[datetime, int, int, Action]] = []
        self.sequence = itertools.count()
        # What the simulated agents know: their live socket, and which conversations await their answer.
        self.connection: dict[str, str] = {}
        self.connection_ids = itertools.count(1)
        self.unanswered: set[str] = set()
        self.reply_scheduled: set[tuple[str, str]] = set()
        self.to_check: dict[str, None] = {}
        self.conversation_ids: dict[str, None] = {}
        self.counts = dict.fromkeys(
            (
                "deliveries",
                "duplicates",
                "replies",
                "agent_closes",
                "connects",
                "disconnects",
                "timeout_checks",
                "scheduled_distributions",
                "grace_checks",
            ),
            0,
        )

    # ------------------------------------------------------------------ the loop

    def at(self, when: datetime, kind: int, action: Action) -> None:
        heapq.heappush(self.heap, (when, kind, next(self.sequence), action))

    async def run(self) -> SimulationResult:
        config = self.config
        for delivery in self.workload.deliveries:
            self.at(delivery.at, _CUSTOMER, self._deliver_action(delivery))
        for change in self.workload.presence:
            self.at(change.at, _PRESENCE, self._presence_action(change))
        interval = config.settings.timeout_check_interval
        epoch = datetime(1970, 1, 1, tzinfo=config.start.tzinfo)
        # Aligned on the scheduler's own slots (multiples of the interval since the epoch).
        first_check = epoch + -((epoch - config.start) // interval) * interval
        self.at(first_check, _SCHEDULER, self._timeout_check)
        self.at(self.scheduler.next_scheduled_distribution(config.start), _SCHEDULER, self._daily_distribution)
        step = config.duration / _CHART_SAMPLES
        for index in range(_CHART_SAMPLES + 1):
            self.at(config.start + step * index, _SAMPLE, self._sample)

        end = config.end
        while self.heap and self.heap[0][0] <= end:
            when, _, _, action = heapq.heappop(self.heap)
            self.clock.set(when)
            await action()
            self.metrics.check_drained()
            await self._schedule_replies()
            if self.progress is not None:
                self.progress((when - config.start) / config.duration)
        self.clock.set(end)
        return await self._result()

    # ------------------------------------------------------------------ scripted actions

    def _deliver_action(self, delivery: Delivery) -> Action:
        async def deliver() -> None:
            self.counts["deliveries"] += 1
            outcome = await self.orchestrator.handle_incoming_message(
                IncomingMessage(
                    business_number_id=BUSINESS_NUMBER_ID,
                    customer_id=delivery.customer_id,
                    external_id=delivery.external_id,
                    text=f"message {delivery.external_id}",
                    sent_at=delivery.at,
                )
            )
            if outcome.duplicate or outcome.conversation_id is None:
                self.counts["duplicates"] += 1
                return
            self.conversation_ids[outcome.conversation_id] = None
            self.unanswered.add(outcome.conversation_id)
            self.to_check[outcome.conversation_id] = None

        return deliver

    def _presence_action(self, change: PresenceChange) -> Action:
        async def presence() -> None:
            agent = change.agent_id
            if change.online:
                if agent in self.connection:
                    return  # already connected (adjacent shifts with no rest)
                self.connection[agent] = f"{agent}/socket-{next(self.connection_ids)}"
                self.counts["connects"] += 1
                await self.orchestrator.handle_agent_connected(agent, self.connection[agent])
                # Back at the keyboard: answer whatever waited meanwhile.
                self.to_check.update(dict.fromkeys(self.metrics.owned_by(agent)))
            else:
                connection = self.connection.pop(agent, None)
                if connection is None:
                    return
                self.counts["disconnects"] += 1
                if await self.orchestrator.handle_agent_disconnected(agent, connection):
                    self.at(self.clock.now() + self.config.settings.disconnect_grace, _SCHEDULER, self._grace_check)

        return presence

    # ------------------------------------------------------------------ the scheduler's jobs

    async def _timeout_check(self) -> None:
        if await self.scheduler.check_response_timeout() is not None:
            self.counts["timeout_checks"] += 1
        self.at(self.clock.now() + self.config.settings.timeout_check_interval, _SCHEDULER, self._timeout_check)

    async def _daily_distribution(self) -> None:
        if await self.scheduler.scheduled_distribution() is not None:
            self.counts["scheduled_distributions"] += 1
        now = self.clock.now()
        self.at(self.scheduler.next_scheduled_distribution(now), _SCHEDULER, self._daily_distribution)

    async def _grace_check(self) -> None:
        self.counts["grace_checks"] += 1
        await self.scheduler.check_disconnect_grace()

    async def _sample(self) -> None:
        self.metrics.sample(self.clock.now())

    # ------------------------------------------------------------------ agents answering

    async def _on_event(self, event: DomainEvent) -> None:
        """Note which conversations an agent may now have to answer; replies are scheduled after the action
        (never from inside the orchestrator's publication)."""
        match event:
            case ConversationClosed(conversation_id=cid):
                self.unanswered.discard(cid)
            case ConversationAssigned(conversation_id=cid) | MessageReceived(conversation_id=cid):
                self.to_check[cid] = None
            case _:
                pass

    async def _schedule_replies(self) -> None:
        config = self.config
        checking, self.to_check = self.to_check, {}
        for cid in checking:
            agent = self.metrics.owner(cid)
            if agent is None or agent not in self.connection or cid not in self.unanswered:
                continue
            if (agent, cid) in self.reply_scheduled:
                continue
            self.reply_scheduled.add((agent, cid))
            delay = self.behaviour.uniform(config.reply_delay_min, config.reply_delay_max)
            when = self.clock.now() + timedelta(milliseconds=round(delay * 60_000))
            self.at(when, _AGENT, self._reply_action(agent, cid))

    def _reply_action(self, agent: str, cid: str) -> Action:
        async def reply() -> None:
            self.reply_scheduled.discard((agent, cid))
            if self.metrics.owner(cid) != agent or agent not in self.connection or cid not in self.unanswered:
                return  # taken away, closed, or the agent is away: rescheduled when it matters again
            await self.orchestrator.handle_agent_replied(agent, cid)
            self.unanswered.discard(cid)
            self.counts["replies"] += 1
            if self.behaviour.random() < self.config.close_rate:
                self.counts["agent_closes"] += 1
                await self.orchestrator.close_conversation(agent, cid)

        return reply

    # ------------------------------------------------------------------ end state

    async def _result(self) -> SimulationResult:
        stored = delivered = 0
        async with self.store.unit_of_work() as uow:
            for cid in self.conversation_ids:
                for message in await uow.conversations.get_messages(cid):
                    stored += 1
                    delivered += message.delivered_to is not None
            open_conversations = 0
            for cid in self.conversation_ids:
                conversation = await uow.conversations.get(cid)
                open_conversations += conversation is not None and conversation.is_open
            pending_conversations = await uow.conversations.count_pending()
            pending_messages = await uow.pending.count()
        counts = self.counts
        return SimulationResult(
            config=self.config,
            agent_ids=self.workload.agent_ids,
            metrics=self.metrics,
            deliveries=counts["deliveries"],
            messages=counts["deliveries"] - counts["duplicates"],
            duplicates=counts["duplicates"],
            conversations=len(self.conversation_ids),
            replies=counts["replies"],
            agent_closes=counts["agent_closes"],
            connects=counts["connects"],
            disconnects=counts["disconnects"],
            timeout_checks=counts["timeout_checks"],
            scheduled_distributions=counts["scheduled_distributions"],
            grace_checks=counts["grace_checks"],
            open_conversations=open_conversations,
            pending_conversations=pending_conversations,
            pending_messages=pending_messages,
            messages_stored=stored,
            messages_delivered=delivered,
        )
