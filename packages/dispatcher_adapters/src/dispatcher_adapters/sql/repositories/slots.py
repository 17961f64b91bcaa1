"""Scheduled-slot claims (:class:`~dispatcher_core.ports.SlotClaims`): I7 is the table's primary key.

``INSERT ... ON CONFLICT DO NOTHING``: on PostgreSQL a second claimer waits for the first one's transaction,
then inserts nothing if it committed (``False``) or takes the slot if it rolled back (``True``).
"""

from __future__ import annotations

from datetime import datetime

from dispatcher_adapters.sql.transaction import Transaction
from dispatcher_core.errors import InvalidInput

__all__ = ["SqlSlotClaims"]


class SqlSlotClaims:
    __slots__ = ("_tx",)

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def claim(self, job: str, slot: str, at: datetime) -> bool:
        if not job or not slot:
            raise InvalidInput("a slot claim needs a non-empty job and slot")
        if at.tzinfo is None or at.utcoffset() is None:
            raise InvalidInput(f"claimed_at must be a timezone-aware datetime, got {at!r}")
        return await self._tx.write(self._tx.statements.insert_slot, {"job": job, "slot": slot, "claimed_at": at}) == 1

    async def unclaim(self, job: str, slot: str) -> bool:
        return await self._tx.write(self._tx.statements.delete_slot, {"job": job, "slot": slot}) == 1
