"""My adapter for one port, yours for the rest: the dict queue passes the queue's conformance suite, with the
dispatcher's in-memory store providing every other port of the unit of work.

    pytest examples/dict_queue
"""

from __future__ import annotations

import pytest
from dict_queue import DictQueueBackend

from dispatcher_adapters.memory import MemoryStore
from dispatcher_core.ports import UnitOfWorkFactory
from dispatcher_core.testing.conformance import QueueRepositoryConformance
from dispatcher_core.testing.hybrid import hybrid_store


class TestDictQueue(QueueRepositoryConformance):
    @pytest.fixture
    def uow_factory(self) -> UnitOfWorkFactory:
        return hybrid_store(MemoryStore().unit_of_work, queue=DictQueueBackend().begin)
