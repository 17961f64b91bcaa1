"""The API keys on SQLite or PostgreSQL (``dispatcher_api_keys``): the primary key and the unique ``key_hash``
make ``INSERT ... ON CONFLICT DO NOTHING`` the one-winner add; revocation is one conditional UPDATE."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dispatcher_adapters.sql.errors import translated_errors
from dispatcher_adapters.sql.tables import api_keys as table
from dispatcher_core.entities.api_key import ApiKey, ApiKeyScope

__all__ = ["SqlApiKeys"]

_FIELDS = ("id", "name", "scope", "key_hash", "hint", "created_at", "revoked_at")


def _key(row: sa.Row[Any]) -> ApiKey:
    values = dict(row._mapping)
    return ApiKey(**{**values, "scope": ApiKeyScope(values["scope"])})


class SqlApiKeys:
    """Implements :class:`~dispatcher_core.ports.ApiKeyRepository`; get one from
    :meth:`SqlStore.api_keys <dispatcher_adapters.sql.SqlStore.api_keys>`."""

    def __init__(self, engine: AsyncEngine, lock: asyncio.Lock | None = None) -> None:
        self._engine = engine
        self._lock = lock

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        async with self._lock if self._lock is not None else contextlib.nullcontext():
            with translated_errors():
                async with self._engine.begin() as conn:
                    yield conn

    def _select(self) -> sa.Select[Any]:
        return sa.select(*(table.c[name] for name in _FIELDS))

    async def add(self, key: ApiKey) -> bool:
        dialect = postgresql if self._engine.dialect.name == "postgresql" else sqlite
        values = {name: getattr(key, name) for name in _FIELDS}
        values["scope"] = key.scope.value
        statement = dialect.insert(table).values(values).on_conflict_do_nothing()
        async with self._transaction() as conn:
            result = await conn.execute(statement)
        return bool(result.rowcount)

    async def get(self, key_id: str) -> ApiKey | None:
        async with self._transaction() as conn:
            row = (await conn.execute(self._select().where(table.c.id == key_id))).first()
        return None if row is None else _key(row)

    async def find_by_hash(self, key_hash: str) -> ApiKey | None:
        async with self._transaction() as conn:
            row = (await conn.execute(self._select().where(table.c.key_hash == key_hash))).first()
        return None if row is None else _key(row)

    async def list(self) -> Sequence[ApiKey]:
        async with self._transaction() as conn:
            rows = (await conn.execute(self._select().order_by(table.c.created_at, table.c.id))).all()
        return [_key(row) for row in rows]

    async def revoke(self, key_id: str, at: datetime) -> ApiKey | None:
        async with self._transaction() as conn:
            await conn.execute(
                table.update().where(table.c.id == key_id, table.c.revoked_at.is_(None)).values(revoked_at=at)
            )
            row = (await conn.execute(self._select().where(table.c.id == key_id))).first()
        return None if row is None else _key(row)
