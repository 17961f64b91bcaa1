"""Round-robin queue management (seed: ``queue.service.ts``).

Knows agent ids and how many conversations each one carries (numbers only): no conversations, messages or
sockets. It is built on the queue repository of the current unit of work, so every read and rotation it
makes is part of the same atomic cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from dispatcher_core.entities.queue_position import QueuePosition
from dispatcher_core.errors import InvalidInput
from dispatcher_core.ports import QueueRepository

__all__ = ["AgentPicker", "QueueService"]

#: How many agents picking the next one reads first; more only when all of those are at capacity.
_FIRST_READ = 8


#: Chooses the next agent among queued agents, head first (``AssignmentService.pick_next_agent`` with the
#: loads bound), or ``None`` if none of them can take work.
AgentPicker = Callable[[Sequence[str]], "str | None"]


class QueueService:
    __slots__ = ("_queue",)

    def __init__(self, queue: QueueRepository) -> None:
        self._queue = queue

    async def add_to_queue(self, user_id: str) -> bool:
        """An agent came online: they join at the end (rule 2). ``False`` if already queued."""
        if not user_id:
            raise InvalidInput("agent id must be a non-empty string")
        return await self._queue.add(user_id)

    async def remove_from_queue(self, user_id: str) -> bool:
        """An agent left: no new work for them. ``False`` if they were not queued."""
        return await self._queue.remove(user_id)

    async def get_next_in_queue(self, pick: AgentPicker, *, whole_queue: bool = False) -> str | None:
        """The agent ``pick`` chooses among the queued ones, or ``None``.

        The queue only supplies the candidates, head first; who is chosen is the assignment service's decision
        (``pick``). With ``whole_queue`` every queued agent is offered at once; otherwise the head is read
        first (8 agents) and further down the queue (8x more each time) only while ``pick`` finds nobody among
        what was read, so the cost does not grow with the number of agents online.
        """
        if whole_queue:
            return pick(await self._queue.list())
        limit = _FIRST_READ
        while True:
            agents = await self._queue.head(limit)
            chosen = pick(agents)
            if chosen is not None or len(agents) < limit:
                return chosen
            limit *= 8  # everyone read so far is busy or excluded: read further down the queue

    async def get_queue_positions(self) -> Sequence[QueuePosition]:
        """Head first, positions from 1."""
        return [QueuePosition(agent_id, index) for index, agent_id in enumerate(await self._queue.list(), 1)]

    async def move_to_end(self, user_id: str) -> bool:
        """The agent just received a new conversation: they go to the end (rule 2)."""
        return await self._queue.move_to_end(user_id)
