"""The memory adapters pass every port's conformance suite."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dispatcher_adapters.memory import MemoryStore, MemoryThroughput
from dispatcher_core.ports import ThroughputReservations, UnitOfWorkFactory
from dispatcher_core.testing.conformance import StoreConformance, ThroughputReservationsConformance


class TestMemoryStore(StoreConformance):
    @pytest.fixture
    async def uow_factory(self) -> UnitOfWorkFactory:
        return MemoryStore().unit_of_work


class TestMemoryThroughput(ThroughputReservationsConformance):
    @pytest.fixture
    def reservations(self) -> Callable[[], ThroughputReservations]:
        shared = MemoryThroughput()  # one process: its senders share one instance
        return lambda: shared
