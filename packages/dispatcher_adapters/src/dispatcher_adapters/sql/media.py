"""The media index on SQLite or PostgreSQL (``dispatcher_whatsapp_media``): ``INSERT ... ON CONFLICT DO
NOTHING`` on the media id, so exactly one of concurrent recorders inserts the row."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dispatcher_adapters.sql.errors import translated_errors
from dispatcher_adapters.sql.tables import whatsapp_media as table
from dispatcher_core.messaging.media import InboundMedia

__all__ = ["SqlMediaIndex"]

_FIELDS = (
    "media_id",
    "business_number_id",
    "customer_id",
    "external_id",
    "kind",
    "received_at",
    "mime_type",
    "sha256",
    "caption",
    "filename",
)


class SqlMediaIndex:
    """Implements :class:`~dispatcher_core.ports.MediaIndex`; get one from
    :meth:`SqlStore.media_index <dispatcher_adapters.sql.SqlStore.media_index>`."""

    def __init__(self, engine: AsyncEngine, lock: asyncio.Lock | None = None) -> None:
        self._engine = engine
        self._lock = lock

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        async with self._lock if self._lock is not None else contextlib.nullcontext():
            with translated_errors():
                async with self._engine.begin() as conn:
                    yield conn

    async def record(self, media: InboundMedia) -> bool:
        dialect = postgresql if self._engine.dialect.name == "postgresql" else sqlite
        values = {name: getattr(media, name) for name in _FIELDS}
        statement = dialect.insert(table).values(values).on_conflict_do_nothing(index_elements=[table.c.media_id])
        async with self._transaction() as conn:
            result = await conn.execute(statement)
        return bool(result.rowcount)

    async def purge(self, received_before: datetime) -> int:
        async with self._transaction() as conn:
            result = await conn.execute(table.delete().where(table.c.received_at < received_before))
        return int(result.rowcount or 0)

    async def get(self, media_id: str) -> InboundMedia | None:
        statement = sa.select(*(table.c[name] for name in _FIELDS)).where(table.c.media_id == media_id)
        async with self._transaction() as conn:
            row = (await conn.execute(statement)).first()
        return None if row is None else InboundMedia(**dict(row._mapping))
