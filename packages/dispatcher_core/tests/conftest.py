"""A dispatcher on the in-memory adapters with a manual clock, for flow tests."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from dispatcher_adapters.memory import MemoryEventBus, MemoryStore
from dispatcher_core import DispatcherOrchestrator, DispatcherScheduler, DispatcherSettings, IncomingMessage
from dispatcher_core.events import DomainEvent
from dispatcher_core.testing import ManualClock


@dataclass
class Harness:
    store: MemoryStore
    bus: MemoryEventBus
    clock: ManualClock
    orchestrator: DispatcherOrchestrator
    scheduler: DispatcherScheduler
    messages: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def events(self, kind: str | None = None) -> list[DomainEvent]:
        return [e for e in self.bus.history if kind is None or e.type == kind]

    def incoming(self, customer: str, external_id: str | None = None, business: str = "bn1") -> IncomingMessage:
        return IncomingMessage(
            business_number_id=business,
            customer_id=customer,
            external_id=external_id or f"wamid.{next(self.messages)}",
            text=f"from {customer}",
            customer_name=customer.title(),
        )

    async def write(self, customer: str, external_id: str | None = None) -> str:
        outcome = await self.orchestrator.handle_incoming_message(self.incoming(customer, external_id))
        assert outcome.conversation_id is not None
        return outcome.conversation_id

    def advance(self, **kwargs: float) -> None:
        self.clock.advance(timedelta(**kwargs))


HarnessFactory = Callable[..., Harness]


@pytest.fixture
def make_harness() -> HarnessFactory:
    def make(**settings: object) -> Harness:
        store, bus, clock = MemoryStore(), MemoryEventBus(history=None), ManualClock()
        config = DispatcherSettings(**settings)  # type: ignore[arg-type]  # keyword pass-through in tests
        ids = itertools.count(1)
        orchestrator = DispatcherOrchestrator(
            uow_factory=store.unit_of_work, publisher=bus, clock=clock, settings=config, new_id=lambda: f"id{next(ids)}"
        )
        scheduler = DispatcherScheduler(
            orchestrator=orchestrator, uow_factory=store.unit_of_work, clock=clock, settings=config
        )
        return Harness(store, bus, clock, orchestrator, scheduler)

    return make


@pytest.fixture
def harness(make_harness: HarnessFactory) -> Harness:
    return make_harness()
