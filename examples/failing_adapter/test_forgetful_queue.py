"""A deliberately broken adapter, to see what a conformance failure looks like: this queue forgets to rotate
(``move_to_end`` says it moved the agent but leaves the order alone), which would hand every conversation to
the same agent. The suite fails, and the failure shows the values it compared, e.g.

    E       AssertionError: assert ['a1', 'a2', 'a3'] == ['a2', 'a1', 'a3']

    pytest examples/failing_adapter        # fails, on purpose
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from dispatcher_adapters.memory import MemoryStore
from dispatcher_core.ports import UnitOfWorkFactory
from dispatcher_core.testing.conformance import QueueRepositoryConformance
from dispatcher_core.testing.hybrid import hybrid_store


class ForgetfulQueue:
    """A list-backed queue whose ``move_to_end`` is a no-op (the bug)."""

    def __init__(self, shared: list[str]) -> None:
        self._shared = shared
        self._agents = list(shared)

    async def list(self) -> Sequence[str]:
        return list(self._agents)

    async def head(self, limit: int) -> Sequence[str]:
        return self._agents[:limit]

    async def add(self, agent_id: str) -> bool:
        if agent_id in self._agents:
            return False
        self._agents.append(agent_id)
        return True

    async def remove(self, agent_id: str) -> bool:
        if agent_id not in self._agents:
            return False
        self._agents.remove(agent_id)
        return True

    async def move_to_end(self, agent_id: str) -> bool:
        return agent_id in self._agents  # BUG: reports a rotation it never made

    async def commit(self) -> None:
        self._shared[:] = self._agents

    async def rollback(self) -> None:
        self._agents = list(self._shared)


class TestForgetfulQueue(QueueRepositoryConformance):
    @pytest.fixture
    def uow_factory(self) -> UnitOfWorkFactory:
        shared: list[str] = []
        return hybrid_store(MemoryStore().unit_of_work, queue=lambda: ForgetfulQueue(shared))
