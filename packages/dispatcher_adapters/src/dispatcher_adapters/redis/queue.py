"""The round-robin queue on Redis: a sorted set of agent ids scored by an increasing counter (the head has
the lowest score; moving to the end is a ZADD with the counter's next value), and a version counter.

A unit of work reads only the head it needs (``head(limit)``; the snapshot of an incoming message brings
the first few agents along), remembers the version it saw, keeps its own changes in memory, and the commit
replays them only if the version is still the one it read, then bumps it. So two instances can never both
hand work to the same head (I4): the second commit conflicts and its cycle is retried on the new order.
"""

from __future__ import annotations

from collections.abc import Sequence

from dispatcher_adapters.redis.errors import guarded
from dispatcher_adapters.redis.plan import CONFLICT, CommitPlan
from dispatcher_adapters.redis.session import Session
from dispatcher_core.errors import ConcurrencyConflict

__all__ = ["RedisQueue"]


class RedisQueue:
    """The current order is: the stored order without the agents this unit of work removed or moved
    (``_displaced``), then the agents it appended (``_tail``), in order. Only a prefix of the stored order
    (``_base``) is known, unless ``_complete``."""

    def __init__(self, session: Session) -> None:
        self._s = session
        self._ctx = session.ctx
        self._keys = session.ctx.keys
        self._version: str | None = None
        self._base: list[str] = []
        self._complete = False
        self._stored_members: dict[str, bool] = {}
        self._displaced: set[str] = set()
        self._tail: list[str] = []
        self._changes: list[tuple[str, str]] = []

    async def _read(self, count: int) -> None:
        """Know at least the first ``count`` stored agents (all when ``count`` < 0; 0 only fixes the
        version). The first read fixes the version the commit checks; a later read that finds another
        version conflicts at once."""
        if self._version is None:
            prefetched = self._s.prefetched
            if prefetched.queue is not None:
                self._base, self._version = list(prefetched.queue), prefetched.queue_version
                self._complete = prefetched.queue_complete
        if self._complete or (self._version is not None and 0 <= count <= len(self._base)):
            return
        wanted = max(count, self._ctx.prefetch_queue) if count >= 0 else -1
        async with self._ctx.client.pipeline(transaction=True) as pipe:
            pipe.zrange(self._keys.queue, 0, wanted - 1 if wanted > 0 else -1)
            pipe.get(self._keys.queue_version)
            members, version = await guarded(pipe.execute())
        version = version or "0"
        if self._version is not None and version != self._version:
            raise ConcurrencyConflict("the queue changed while this unit of work was reading it")
        self._version, self._base = version, list(members)
        self._complete = wanted < 0 or len(self._base) < wanted

    def _known_prefix(self) -> list[str]:
        return [agent for agent in self._base if agent not in self._displaced]

    async def _queued(self, agent_id: str) -> bool:
        await self._read(0)
        if agent_id in self._tail:
            return True
        if agent_id in self._displaced:
            return False
        if agent_id in self._base:
            return True
        if self._complete:
            return False
        if agent_id not in self._stored_members:
            score = await guarded(self._ctx.client.zscore(self._keys.queue, agent_id))
            self._stored_members[agent_id] = score is not None
        return self._stored_members[agent_id]

    async def list(self) -> Sequence[str]:
        await self._read(-1)
        return self._known_prefix() + self._tail

    async def head(self, limit: int) -> Sequence[str]:
        if limit <= 0:
            return []
        await self._read(limit)
        while not self._complete and len(self._known_prefix()) < limit:
            await self._read(max(2 * len(self._base), limit + len(self._displaced)))
        if self._complete:
            return (self._known_prefix() + self._tail)[:limit]
        return self._known_prefix()[:limit]

    async def add(self, agent_id: str) -> bool:
        if await self._queued(agent_id):
            return False
        self._tail.append(agent_id)
        self._changes.append(("add", agent_id))
        return True

    async def remove(self, agent_id: str) -> bool:
        if not await self._queued(agent_id):
            return False
        if agent_id in self._tail:
            self._tail.remove(agent_id)
        self._displaced.add(agent_id)
        self._changes.append(("remove", agent_id))
        return True

    async def move_to_end(self, agent_id: str) -> bool:
        if not await self._queued(agent_id):
            return False
        if agent_id in self._tail:
            self._tail.remove(agent_id)
        self._tail.append(agent_id)
        self._displaced.add(agent_id)
        self._changes.append(("end", agent_id))
        return True

    def stage(self, plan: CommitPlan) -> None:
        if self._version is None:
            return
        keys = self._keys
        plan.check("get0", CONFLICT, "the queue", keys.queue_version, self._version)
        for change, agent_id in self._changes:
            if change == "remove":
                plan.write("ZREM", keys.queue, agent_id)
            else:
                plan.write("ZADDSEQ", keys.queue_seq, agent_id, keys.queue)
        if self._changes:
            plan.write("INCR", keys.queue_version)

    def _forget(self) -> None:
        self._version = None
        self._base = []
        self._complete = False
        self._stored_members.clear()
        self._displaced.clear()
        self._tail.clear()
        self._changes.clear()

    def committed(self) -> None:
        self._forget()
        self._s.prefetched.queue = None

    def rolled_back(self) -> None:
        self._forget()
