"""Throughput reservations shared by every instance, on SQL (:class:`~dispatcher_core.ports.ThroughputReservations`).

One row per phone number holding its next free send slot (microseconds since the epoch). A reservation is ONE
statement in its own short transaction: ``INSERT ... ON CONFLICT (key) DO UPDATE SET next_slot_us =
max(next_slot_us, :now) + :interval RETURNING next_slot_us``; the row lock serializes concurrent reservations
across instances on PostgreSQL (SQLite has one writer anyway).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from dispatcher_adapters.sql.statements import Sql, _compile
from dispatcher_adapters.sql.store import SqlStore
from dispatcher_adapters.sql.tables import throughput

__all__ = ["SqlThroughput"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
_compiled: dict[str, Sql] = {}


def _statement(dialect: sa.Dialect) -> Sql:
    found = _compiled.get(dialect.name)
    if found is None:
        now, interval = sa.bindparam("now", type_=sa.BigInteger), sa.bindparam("interval", type_=sa.BigInteger)
        insert = (postgresql.insert if dialect.name == "postgresql" else sqlite.insert)(throughput)
        current = throughput.c.next_slot_us
        statement = (
            insert.values(key=sa.bindparam("key"), next_slot_us=now + interval)
            .on_conflict_do_update(
                index_elements=[throughput.c.key],
                set_={"next_slot_us": sa.case((current > now, current), else_=now) + interval},
            )
            .returning(current)
        )
        found = _compiled[dialect.name] = _compile(dialect, statement)
    return found


class SqlThroughput:
    def __init__(self, store: SqlStore) -> None:
        self._store = store

    async def reserve(self, key: str, interval: timedelta, now: datetime) -> timedelta:
        step = max(1, interval // _MICRO)
        now_us = (now - _EPOCH) // _MICRO
        tx = self._store.transaction()
        await tx.open()
        try:
            rows = await tx.fetch(_statement(self._store.engine.dialect), {"key": key, "now": now_us, "interval": step})
            await tx.commit()
        finally:
            await tx.close()
        slot = int(rows[0][0]) - step
        return timedelta(microseconds=slot - now_us)
