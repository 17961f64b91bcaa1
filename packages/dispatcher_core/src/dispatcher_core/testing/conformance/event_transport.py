"""Conformance of an event transport: journal/publisher on the sending side, :class:`EventSubscriber` on the
receiving side, as the orchestrator and the app use them (see :mod:`dispatcher_core.ports.event_subscriber`).

Subclass :class:`EventTransportConformance` and provide a ``transport`` fixture returning an
:class:`EventTransportHarness`. Subscribers stand for app instances: two subscribers of one transport are
two instances. The tests wait for deliveries (polling, never a fixed sleep) and assert what arrived.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import pytest

from dispatcher_core.events import ConversationAssigned, ConversationPending, ConversationReleased, DomainEvent
from dispatcher_core.ports import EnvelopeHandler, EventEnvelope, EventSubscriber
from dispatcher_core.testing.conformance._support import T0, ConformanceSuite

__all__ = ["EventProbe", "EventTransportConformance", "EventTransportHarness"]

_ids = itertools.count(1)


class EventTransportHarness(Protocol):
    #: Whether :meth:`lose_connection` can cut a subscriber off (an in-process transport cannot).
    can_lose_connection: bool

    async def commit(self, events: Sequence[DomainEvent]) -> None:
        """What the orchestrator does: a unit of work records ``events``, commits, then they are published."""
        ...

    async def roll_back(self, events: Sequence[DomainEvent]) -> None:
        """A unit of work records ``events`` and ends without committing (nothing is published)."""
        ...

    def subscriber(
        self,
        *,
        on_agent_event: EnvelopeHandler,
        resync: Callable[[str], Awaitable[None]],
        on_admin_event: EnvelopeHandler,
        on_admin_resync: Callable[[], Awaitable[None]],
    ) -> EventSubscriber:
        """A new subscriber ("instance"), not started."""
        ...

    async def lose_connection(self, subscriber: EventSubscriber) -> None:
        """Cut ``subscriber``'s connection from the server side (a network blip, a killed backend)."""
        ...


@dataclass
class EventProbe:
    """One subscriber and everything it was handed."""

    agent: list[tuple[str, int, DomainEvent]] = field(default_factory=list)
    admin: list[DomainEvent] = field(default_factory=list)
    resyncs: list[str] = field(default_factory=list)
    admin_resyncs: int = 0
    subscriber: EventSubscriber | None = None

    async def on_agent_event(self, envelope: EventEnvelope) -> None:
        assert envelope.agent_id is not None
        assert envelope.seq is not None
        self.agent.append((envelope.agent_id, envelope.seq, envelope.event))

    async def on_admin_event(self, envelope: EventEnvelope) -> None:
        self.admin.append(envelope.event)

    async def resync(self, agent_id: str) -> None:
        self.resyncs.append(agent_id)

    async def on_admin_resync(self) -> None:
        self.admin_resyncs += 1

    def of(self, agent_id: str) -> list[tuple[int, str]]:
        """(seq, conversation id) of the events delivered for ``agent_id``."""
        return [(seq, _conversation_of(event)) for agent, seq, event in self.agent if agent == agent_id]


def _conversation_of(event: DomainEvent) -> str:
    return str(getattr(event, "conversation_id", ""))


def assigned(agent_id: str) -> ConversationAssigned:
    return ConversationAssigned(
        conversation_id=f"conv-{next(_ids)}",
        agent_id=agent_id,
        business_number_id="bn1",
        customer_id=f"customer-{next(_ids)}",
        customer_name=None,
        messages=(),
        reason="new",
        at=T0,
    )


async def eventually(check: Callable[[], bool], give_up_after: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + give_up_after
    while not check():
        if loop.time() > deadline:
            raise AssertionError("the expected delivery never happened")
        await asyncio.sleep(0.01)


class EventTransportConformance(ConformanceSuite):
    """The event transport (``EventPublisher`` + ``EventSubscriber``): events of a committed unit of work reach
    every subscribed instance numbered 1, 2, 3... per agent and the admin stream; rolled-back events never
    travel; watch/unwatch are counted; a lost connection makes the subscriber ask for a resync. Needs a
    ``transport`` fixture (an :class:`EventTransportHarness`)."""

    @pytest.fixture
    async def transport(self) -> EventTransportHarness:
        raise NotImplementedError("an adapter's test module provides the transport fixture")

    @pytest.fixture
    async def instances(
        self, transport: EventTransportHarness
    ) -> AsyncIterator[Callable[[int], Awaitable[list[EventProbe]]]]:
        """``await instances(n)``: n started subscribers with their probes, closed after the test."""
        started: list[EventSubscriber] = []

        async def make(count: int) -> list[EventProbe]:
            probes = []
            for _ in range(count):
                probe = EventProbe()
                probe.subscriber = transport.subscriber(
                    on_agent_event=probe.on_agent_event,
                    resync=probe.resync,
                    on_admin_event=probe.on_admin_event,
                    on_admin_resync=probe.on_admin_resync,
                )
                await probe.subscriber.start()
                started.append(probe.subscriber)
                probes.append(probe)
            return probes

        yield make
        for subscriber in started:
            await subscriber.aclose()

    async def test_each_agent_numbered_and_delivered_to_every_instance_watching_it(
        self, transport: EventTransportHarness, instances: Callable[[int], Awaitable[list[EventProbe]]]
    ) -> None:
        a, b = await instances(2)
        assert a.subscriber is not None
        assert b.subscriber is not None
        alice_a = await a.subscriber.watch("alice")
        alice_b = await b.subscriber.watch("alice")
        bob_b = await b.subscriber.watch("bob")
        assert alice_a == alice_b
        first, second, third = assigned("alice"), assigned("bob"), assigned("alice")
        waiting = ConversationPending("conv-w", T0)
        await transport.commit([first, second, waiting])
        await transport.commit([third, ConversationReleased(first.conversation_id, "alice", "disconnected", T0)])

        await eventually(lambda: len(a.of("alice")) == 3 and len(b.of("alice")) == 3 and len(b.of("bob")) == 1)
        expected_alice = [
            (alice_a + 1, first.conversation_id),
            (alice_a + 2, third.conversation_id),
            (alice_a + 3, first.conversation_id),
        ]
        assert a.of("alice") == expected_alice
        assert b.of("alice") == expected_alice
        assert b.of("bob") == [(bob_b + 1, second.conversation_id)]
        assert a.of("bob") == []  # not watched on instance a
        # every instance's admin stream carries every event, in commit order
        await eventually(lambda: len(a.admin) == 5 and len(b.admin) == 5)
        assert (
            [e.type for e in a.admin]
            == [e.type for e in b.admin]
            == [
                "conversation.assigned",
                "conversation.assigned",
                "conversation.pending",
                "conversation.assigned",
                "conversation.released",
            ]
        )
        assert a.resyncs == b.resyncs == []
        assert a.subscriber.last_seq("alice") == alice_a + 3

    async def test_watch_returns_the_number_a_snapshot_covers(
        self, transport: EventTransportHarness, instances: Callable[[int], Awaitable[list[EventProbe]]]
    ) -> None:
        (a,) = await instances(1)
        assert a.subscriber is not None
        before = await a.subscriber.watch("carol")
        await transport.commit([assigned("carol"), assigned("carol")])
        await eventually(lambda: len(a.of("carol")) == 2)
        await a.subscriber.unwatch("carol")
        assert a.subscriber.last_seq("carol") is None
        again = await a.subscriber.watch("carol")
        assert again == before + 2  # the events already committed are the snapshot's, not to be delivered again
        late = assigned("carol")
        await transport.commit([late])
        await eventually(lambda: len(a.of("carol")) == 3)
        assert a.of("carol")[-1] == (before + 3, late.conversation_id)

    async def test_watches_are_counted_and_the_last_unwatch_stops_delivery(
        self, transport: EventTransportHarness, instances: Callable[[int], Awaitable[list[EventProbe]]]
    ) -> None:
        (a,) = await instances(1)
        assert a.subscriber is not None
        await a.subscriber.watch("dan")
        await a.subscriber.watch("dan")
        await a.subscriber.unwatch("dan")
        await transport.commit([assigned("dan")])
        await eventually(lambda: len(a.of("dan")) == 1)
        await a.subscriber.unwatch("dan")
        marker = ConversationPending("conv-marker", T0)
        await transport.commit([assigned("dan"), marker])
        await eventually(lambda: marker in a.admin)
        assert len(a.of("dan")) == 1

    async def test_events_of_a_unit_of_work_that_did_not_commit_are_never_delivered(
        self, transport: EventTransportHarness, instances: Callable[[int], Awaitable[list[EventProbe]]]
    ) -> None:
        (a,) = await instances(1)
        assert a.subscriber is not None
        base = await a.subscriber.watch("erin")
        ghost = assigned("erin")
        await transport.roll_back([ghost, ConversationPending("conv-ghost", T0)])
        real = assigned("erin")
        await transport.commit([real])
        await eventually(lambda: len(a.of("erin")) == 1 and len(a.admin) == 1)
        assert a.of("erin") == [(base + 1, real.conversation_id)]  # no number was spent on the rolled-back one
        assert a.admin == [real]
        assert a.resyncs == []

    async def test_a_lost_connection_resyncs_every_watched_agent_and_delivery_goes_on(
        self, transport: EventTransportHarness, instances: Callable[[int], Awaitable[list[EventProbe]]]
    ) -> None:
        if not transport.can_lose_connection:
            pytest.skip("an in-process transport has no connection to lose")
        (a,) = await instances(1)
        assert a.subscriber is not None
        base = await a.subscriber.watch("fay")
        await a.subscriber.watch("gus")
        await transport.commit([assigned("fay")])
        await eventually(lambda: len(a.of("fay")) == 1)

        await transport.lose_connection(a.subscriber)
        await transport.commit([assigned("fay"), assigned("fay")])  # perhaps while it is away
        await eventually(lambda: {"fay", "gus"} <= set(a.resyncs) and a.admin_resyncs >= 1)

        after = assigned("fay")
        await transport.commit([after])
        await eventually(
            lambda: any(event is after or _conversation_of(event) == after.conversation_id for _, _, event in a.agent)
        )
        assert a.of("fay")[-1] == (base + 4, after.conversation_id)
        assert a.subscriber.last_seq("fay") == base + 4
        seqs = [seq for seq, _ in a.of("fay")]
        assert seqs == sorted(set(seqs))  # never twice, never backwards
