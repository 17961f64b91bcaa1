"""The in-memory outbox passes the OutboxRepository conformance suite."""

from __future__ import annotations

import pytest

from dispatcher_adapters.memory.outbox import MemoryOutbox
from dispatcher_core.messaging.outbox_conformance import OutboxRepositoryConformance
from dispatcher_core.ports.outbox_repository import OutboxRepository


class TestMemoryOutbox(OutboxRepositoryConformance):
    @pytest.fixture
    def outbox(self) -> OutboxRepository:
        return MemoryOutbox()
