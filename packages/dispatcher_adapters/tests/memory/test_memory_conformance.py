"""The memory adapters pass every port's conformance suite."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dispatcher_adapters.memory import MemoryPurge, MemoryStore, MemoryThroughput
from dispatcher_core.ports import ConversationPurge, ThroughputReservations, UnitOfWorkFactory
from dispatcher_core.testing.conformance import (
    ConversationPurgeConformance,
    StoreConformance,
    ThroughputReservationsConformance,
)


class TestMemoryStore(StoreConformance):
    @pytest.fixture
    async def uow_factory(self) -> UnitOfWorkFactory:
        return MemoryStore().unit_of_work


class TestMemoryThroughput(ThroughputReservationsConformance):
    @pytest.fixture
    def reservations(self) -> Callable[[], ThroughputReservations]:
        shared = MemoryThroughput()  # one process: its senders share one instance
        return lambda: shared


class TestMemoryPurge(ConversationPurgeConformance):
    @pytest.fixture
    def store(self) -> MemoryStore:
        return MemoryStore()

    @pytest.fixture
    def uow_factory(self, store: MemoryStore) -> UnitOfWorkFactory:
        return store.unit_of_work

    @pytest.fixture
    def purge(self, store: MemoryStore) -> ConversationPurge:
        return MemoryPurge(store)
