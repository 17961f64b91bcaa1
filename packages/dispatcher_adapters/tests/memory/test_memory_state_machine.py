"""The orchestrator on the memory adapters keeps I1-I8 under random sequences of everything that can happen."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from hypothesis import HealthCheck, settings

from dispatcher_adapters.memory import MemoryStore
from dispatcher_core.ports import UnitOfWorkFactory
from dispatcher_core.testing.state_machine import dispatcher_state_machine
from dispatcher_core.types import RoutingPolicy


@asynccontextmanager
async def memory_store() -> AsyncIterator[UnitOfWorkFactory]:
    yield MemoryStore().unit_of_work


_settings = settings(
    max_examples=200, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

TestUnlimitedCapacity = dispatcher_state_machine(memory_store).TestCase
TestUnlimitedCapacity.settings = _settings

TestCapacityTwo = dispatcher_state_machine(memory_store, capacity=2).TestCase
TestCapacityTwo.settings = _settings

# Every invariant but I4 (the round-robin's own fairness) holds when the least busy agent is picked.
TestLeastBusyCapacityTwo = dispatcher_state_machine(memory_store, capacity=2, policy=RoutingPolicy.LEAST_BUSY).TestCase
TestLeastBusyCapacityTwo.settings = _settings

TestLeastBusyUnlimited = dispatcher_state_machine(memory_store, policy=RoutingPolicy.LEAST_BUSY).TestCase
TestLeastBusyUnlimited.settings = _settings
