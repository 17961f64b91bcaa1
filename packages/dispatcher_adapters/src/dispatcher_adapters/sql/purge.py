"""Retention on SQL (:class:`~dispatcher_core.ports.ConversationPurge`): one transaction per batch deletes the
selected closed conversations with their pending entries (none, for a closed one), messages and outbound
messages. Two instances purging at once delete each conversation once (the second finds nothing to delete).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from dispatcher_adapters.sql.statements import Sql, _compile
from dispatcher_adapters.sql.store import SqlStore
from dispatcher_adapters.sql.tables import (
    UtcDateTime,
    conversations,
    messages,
    outbound_messages,
    pending_messages,
)

__all__ = ["SqlPurge"]

_CLOSED: sa.ColumnClause[str] = sa.literal_column("'closed'")


@dataclass(frozen=True, slots=True)
class _Statements:
    candidates: Sql
    deletes: tuple[Sql, ...]
    delete_conversation: Sql


_compiled: dict[str, _Statements] = {}


def _statements(dialect: sa.Dialect) -> _Statements:
    found = _compiled.get(dialect.name)
    if found is None:
        c = conversations.c
        conversation_id: sa.BindParameter[str] = sa.bindparam("conversation_id")
        found = _compiled[dialect.name] = _Statements(
            candidates=_compile(
                dialect,
                sa.select(c.id)
                .where(c.status == _CLOSED, c.closed_at < sa.bindparam("cutoff", type_=UtcDateTime))
                .order_by(c.closed_at, c.id)
                .limit(sa.bindparam("limit")),
            ),
            deletes=tuple(
                _compile(dialect, sa.delete(table).where(table.c.conversation_id == conversation_id))
                for table in (pending_messages, messages, outbound_messages)
            ),
            delete_conversation=_compile(
                dialect, sa.delete(conversations).where(c.id == conversation_id, c.status == _CLOSED)
            ),
        )
    return found


class SqlPurge:
    def __init__(self, store: SqlStore) -> None:
        self._store = store

    async def purge_closed(self, closed_before: datetime, *, limit: int = 100) -> int:
        sql = _statements(self._store.engine.dialect)
        tx = self._store.transaction()
        await tx.open()
        try:
            rows = await tx.fetch(sql.candidates, {"cutoff": closed_before, "limit": limit})
            purged = 0
            for (conversation_id,) in rows:
                for delete in sql.deletes:
                    await tx.write(delete, {"conversation_id": conversation_id})
                purged += await tx.write(sql.delete_conversation, {"conversation_id": conversation_id})
            await tx.commit()
        finally:
            await tx.close()
        return purged
