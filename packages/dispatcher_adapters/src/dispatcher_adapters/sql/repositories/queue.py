"""The round-robin queue (:class:`~dispatcher_core.ports.QueueRepository`): rows (agent id, position).

The first queue access of a unit of work serializes it with every other one until it ends (PostgreSQL: a
transaction-scoped advisory lock; SQLite: the write lock ``BEGIN IMMEDIATE`` already holds), so what it reads
stays true until it commits. Each operation is then one indexed statement: ``head`` reads the first rows by
position, ``add`` and ``move_to_end`` write ``max(position) + 1``, ``remove`` deletes - the cost does not
grow with the number of agents online.

A lock around the whole read -> decide -> rotate cycle is what keeps the rotation fair across instances (I4).
``SELECT ... FOR UPDATE SKIP LOCKED`` on agent rows would not: an agent locked by a concurrent assignment looks
absent, so under load the same few agents would be skipped and others served twice in a row.
"""

from __future__ import annotations

from collections.abc import Sequence

from dispatcher_adapters.sql.transaction import Transaction
from dispatcher_core.errors import InvalidInput

__all__ = ["SqlQueueRepository"]


class SqlQueueRepository:
    __slots__ = ("_tx",)

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def list(self) -> Sequence[str]:
        await self._tx.lock_queue()
        return [row[0] for row in await self._tx.fetch(self._tx.statements.queue_all)]

    async def head(self, limit: int) -> Sequence[str]:
        if limit < 0:
            raise InvalidInput(f"limit must be >= 0, got {limit}")
        await self._tx.lock_queue()
        return [row[0] for row in await self._tx.fetch(self._tx.statements.queue_head, {"limit": limit})]

    async def add(self, agent_id: str) -> bool:
        if not agent_id:
            raise InvalidInput("agent id must be a non-empty string")
        await self._tx.lock_queue()
        return await self._tx.write(self._tx.statements.insert_queue, {"new_agent_id": agent_id}) == 1

    async def remove(self, agent_id: str) -> bool:
        await self._tx.lock_queue()
        return await self._tx.write(self._tx.statements.delete_queue, {"agent_id": agent_id}) == 1

    async def move_to_end(self, agent_id: str) -> bool:
        await self._tx.lock_queue()
        return await self._tx.write(self._tx.statements.move_queue, {"where_agent_id": agent_id}) == 1
