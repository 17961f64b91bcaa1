"""The in-process event transport passes the event port's conformance suite."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import pytest

from dispatcher_adapters.memory import MemoryEventTransport, MemoryStore
from dispatcher_core.events import DomainEvent
from dispatcher_core.ports import EnvelopeHandler, EventSubscriber
from dispatcher_core.testing.conformance import EventTransportConformance, EventTransportHarness


class MemoryHarness:
    can_lose_connection = False

    def __init__(self) -> None:
        self.store = MemoryStore()
        self.transport = MemoryEventTransport()

    async def commit(self, events: Sequence[DomainEvent]) -> None:
        async with self.store.unit_of_work() as uow:
            await uow.events.record(events)
            await uow.commit()
        await self.transport.publish(events)

    async def roll_back(self, events: Sequence[DomainEvent]) -> None:
        async with self.store.unit_of_work() as uow:
            await uow.events.record(events)

    def subscriber(
        self,
        *,
        on_agent_event: EnvelopeHandler,
        resync: Callable[[str], Awaitable[None]],
        on_admin_event: EnvelopeHandler,
        on_admin_resync: Callable[[], Awaitable[None]],
    ) -> EventSubscriber:
        return self.transport.subscriber(
            on_agent_event=on_agent_event,
            resync=resync,
            on_admin_event=on_admin_event,
            on_admin_resync=on_admin_resync,
        )

    async def lose_connection(self, subscriber: EventSubscriber) -> None:
        raise NotImplementedError


class TestMemoryEventTransport(EventTransportConformance):
    @pytest.fixture
    async def transport(self) -> EventTransportHarness:
        return MemoryHarness()
