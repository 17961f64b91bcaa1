"""A third-party adapter: the round-robin queue (``QueueRepository``) on a plain ``dict``.

A dict keeps insertion order, so ``dict[str, None]`` is an ordered set of agent ids: appending is inserting,
``move_to_end`` is popping and inserting again. Each unit of work works on a copy of the shared dict and
writes it back on ``commit`` - which is all the transactional behaviour the conformance suite asks for,
since the in-memory store this queue is combined with runs units of work one at a time.
"""

from __future__ import annotations

from collections.abc import Sequence


class DictQueueBackend:
    """The shared state: one per store."""

    def __init__(self) -> None:
        self.agents: dict[str, None] = {}

    def begin(self) -> DictQueue:
        """The queue port of one unit of work (``hybrid_store`` calls this when a unit of work is entered)."""
        return DictQueue(self)


class DictQueue:
    """Implements ``dispatcher_core.ports.QueueRepository`` plus ``commit`` / ``rollback``."""

    def __init__(self, backend: DictQueueBackend) -> None:
        self._backend = backend
        self._agents = dict(backend.agents)

    async def list(self) -> Sequence[str]:
        return list(self._agents)

    async def head(self, limit: int) -> Sequence[str]:
        return list(self._agents)[:limit]

    async def add(self, agent_id: str) -> bool:
        if agent_id in self._agents:
            return False
        self._agents[agent_id] = None
        return True

    async def remove(self, agent_id: str) -> bool:
        return self._agents.pop(agent_id, False) is None

    async def move_to_end(self, agent_id: str) -> bool:
        if agent_id not in self._agents:
            return False
        del self._agents[agent_id]
        self._agents[agent_id] = None
        return True

    async def commit(self) -> None:
        self._backend.agents = dict(self._agents)

    async def rollback(self) -> None:
        self._agents = dict(self._backend.agents)
