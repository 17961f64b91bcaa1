"""Round-robin queue management (seed: ``queue.service.ts``).

Knows agent ids and how many conversations each one carries (numbers only): no conversations, messages or
sockets. It is built on the queue repository of the current unit of work, so every read and rotation it
makes is part of the same atomic cycle.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from dispatcher_core.entities.queue_position import QueuePosition
from dispatcher_core.errors import InvalidInput
from dispatcher_core.ports import QueueRepository

__all__ = ["QueueService"]

#: How many agents picking the next one reads first; more only when all of those are at capacity.
_FIRST_READ = 8


class QueueService:
    __slots__ = ("_capacity", "_queue")

    def __init__(self, queue: QueueRepository, capacity: int = 0) -> None:
        """``capacity`` is the most open conversations an agent may carry; 0 means unlimited."""
        self._queue = queue
        self._capacity = capacity

    async def add_to_queue(self, user_id: str) -> bool:
        """An agent came online: they join at the end (rule 2). ``False`` if already queued."""
        if not user_id:
            raise InvalidInput("agent id must be a non-empty string")
        return await self._queue.add(user_id)

    async def remove_from_queue(self, user_id: str) -> bool:
        """An agent left: no new work for them. ``False`` if they were not queued."""
        return await self._queue.remove(user_id)

    async def get_next_in_queue(
        self, loads: Mapping[str, int] | None = None, exclude: Collection[str] = ()
    ) -> str | None:
        """The first agent from the head with spare capacity, or ``None``.

        Agents at capacity (per ``loads``: open conversations per agent) and ``exclude``d agents are skipped
        without being moved, so they keep their turn for when they can take work again.
        """
        limit = _FIRST_READ
        while True:
            agents = await self._queue.head(limit)
            for agent_id in agents:
                if agent_id in exclude:
                    continue
                if self._capacity and (loads or {}).get(agent_id, 0) >= self._capacity:
                    continue
                return agent_id
            if len(agents) < limit:
                return None
            limit *= 8  # everyone read so far is busy or excluded: read further down the queue

    async def get_queue_positions(self) -> Sequence[QueuePosition]:
        """Head first, positions from 1."""
        return [QueuePosition(agent_id, index) for index, agent_id in enumerate(await self._queue.list(), 1)]

    async def move_to_end(self, user_id: str) -> bool:
        """The agent just received a new conversation: they go to the end (rule 2)."""
        return await self._queue.move_to_end(user_id)
