"""Pending messages (:class:`~dispatcher_core.ports.PendingStore`), in arrival order (an increasing key).

A pending row is deleted in the same transaction that assigns its conversation, so a message is either still
pending or delivered, never both, never neither. Two instances draining at once both try to take the same
conversation; its version compare-and-set lets one win, and ``remove`` reports ``False`` to a loser that got
that far.
"""

from __future__ import annotations

from collections.abc import Sequence

from dispatcher_adapters.sql.rows import pending_from_row, pending_params
from dispatcher_adapters.sql.transaction import Transaction
from dispatcher_core.entities import PendingMessage
from dispatcher_core.errors import ConcurrencyConflict, InvalidInput

__all__ = ["SqlPendingStore"]


class SqlPendingStore:
    __slots__ = ("_tx",)

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def add(self, pending: PendingMessage) -> None:
        if await self._tx.write(self._tx.statements.insert_pending, pending_params(pending)) != 1:
            raise ConcurrencyConflict(f"pending message {pending.id} already exists")

    async def list(self, conversation_id: str | None = None, limit: int | None = None) -> Sequence[PendingMessage]:
        if limit is not None and limit < 0:
            raise InvalidInput(f"limit must be >= 0, got {limit}")
        statements = self._tx.statements
        bound = statements.no_limit if limit is None else limit
        if conversation_id is None:
            rows = await self._tx.fetch(statements.pending_all, {"limit": bound})
        else:
            rows = await self._tx.fetch(statements.pending_of, {"conversation_id": conversation_id, "limit": bound})
        return [pending_from_row(row) for row in rows]

    async def remove(self, pending_id: str) -> bool:
        return await self._tx.write(self._tx.statements.delete_pending, {"id": pending_id}) == 1

    async def count(self) -> int:
        rows = await self._tx.fetch(self._tx.statements.count_pending)
        return int(rows[0][0])
