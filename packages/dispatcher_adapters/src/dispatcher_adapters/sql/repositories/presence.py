"""Agent presence (:class:`~dispatcher_core.ports.PresenceRepository`): a compare-and-set on ``version``.

An absent presence counts as version 0, so saving a first presence is an ``INSERT`` that loses (row count 0)
against a concurrent first save, and every later save is ``UPDATE ... WHERE version = :expected``.
"""

from __future__ import annotations

from collections.abc import Sequence

from dispatcher_adapters.sql.rows import presence_from_row, presence_params
from dispatcher_adapters.sql.transaction import Transaction
from dispatcher_core.entities import AgentPresence, PresenceStatus
from dispatcher_core.errors import ConcurrencyConflict

__all__ = ["SqlPresenceRepository"]


class SqlPresenceRepository:
    __slots__ = ("_tx",)

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def get(self, agent_id: str) -> AgentPresence | None:
        rows = await self._tx.fetch(self._tx.statements.presence_by_agent, {"agent_id": agent_id})
        return presence_from_row(rows[0]) if rows else None

    async def save(self, presence: AgentPresence) -> None:
        statements = self._tx.statements
        params = presence_params(presence, version=presence.version + 1)
        if presence.version == 0:
            changed = await self._tx.write(statements.insert_presence, params)
        else:
            params["expected_version"] = presence.version
            params["where_agent_id"] = params.pop("agent_id")
            changed = await self._tx.write(statements.update_presence, params)
        if changed != 1:
            stored = await self.get(presence.agent_id)
            stored_version = 0 if stored is None else stored.version
            raise ConcurrencyConflict(
                f"presence of {presence.agent_id} is at version {stored_version}, not {presence.version}"
            )

    async def list(self, status: PresenceStatus | None = None) -> Sequence[AgentPresence]:
        statements = self._tx.statements
        if status is None:
            rows = await self._tx.fetch(statements.presence_all)
        else:
            rows = await self._tx.fetch(statements.presence_with_status, {"status": status.value})
        return [presence_from_row(row) for row in rows]
