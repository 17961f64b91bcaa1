"""The memory adapters pass every port's conformance suite."""

from __future__ import annotations

import pytest

from dispatcher_adapters.memory import MemoryStore
from dispatcher_core.ports import UnitOfWorkFactory
from dispatcher_core.testing.conformance import StoreConformance


class TestMemoryStore(StoreConformance):
    @pytest.fixture
    async def uow_factory(self) -> UnitOfWorkFactory:
        return MemoryStore().unit_of_work
