"""The approved-template catalogue on SQLite or PostgreSQL (``dispatcher_whatsapp_templates``).

Each call is one transaction of its own (the catalogue is beside the unit of work, not in it): ``replace_all``
deletes and inserts in one transaction, so readers see the old catalogue or the new one; ``set_status`` is one
``UPDATE ... WHERE updated_at <= :at``. On SQLite the store's writer lock is shared, as for units of work.
"""

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
from dispatcher_adapters.sql.tables import whatsapp_templates as table
from dispatcher_adapters.template_codec import decode_definition, encode_definition
from dispatcher_core.messaging.catalogue import TemplateDefinition

__all__ = ["SqlTemplateCatalogue"]


def _row(template: TemplateDefinition) -> dict[str, object]:
    return {
        "name": template.name,
        "language": template.language,
        "status": template.status,
        "updated_at": template.updated_at,
        "definition": encode_definition(template),
    }


def _decode(row: sa.Row[Any]) -> TemplateDefinition:
    return decode_definition(row.name, row.language, row.status, row.updated_at, row.definition)


class SqlTemplateCatalogue:
    """Implements :class:`~dispatcher_core.ports.TemplateCatalogue`; get one from
    :meth:`SqlStore.template_catalogue <dispatcher_adapters.sql.SqlStore.template_catalogue>`."""

    def __init__(self, engine: AsyncEngine, lock: asyncio.Lock | None = None) -> None:
        self._engine = engine
        self._lock = lock

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        async with self._lock if self._lock is not None else contextlib.nullcontext():
            with translated_errors():
                async with self._engine.begin() as conn:
                    yield conn

    async def replace_all(self, templates: Sequence[TemplateDefinition]) -> None:
        rows = {(template.name, template.language): _row(template) for template in templates}
        async with self._transaction() as conn:
            await conn.execute(table.delete())
            if rows:
                await conn.execute(table.insert(), list(rows.values()))

    async def upsert(self, template: TemplateDefinition) -> None:
        dialect = postgresql if self._engine.dialect.name == "postgresql" else sqlite
        insert = dialect.insert(table).values(_row(template))
        statement = insert.on_conflict_do_update(
            index_elements=[table.c.name, table.c.language],
            set_={column: insert.excluded[column] for column in ("status", "updated_at", "definition")},
        )
        async with self._transaction() as conn:
            await conn.execute(statement)

    async def set_status(self, name: str, language: str, status: str, at: datetime) -> bool:
        statement = (
            table.update()
            .where(table.c.name == name, table.c.language == language, table.c.updated_at <= at)
            .values(status=status, updated_at=at)
        )
        async with self._transaction() as conn:
            result = await conn.execute(statement)
        return bool(result.rowcount)

    async def get(self, name: str, language: str) -> TemplateDefinition | None:
        statement = sa.select(table).where(table.c.name == name, table.c.language == language)
        async with self._transaction() as conn:
            row = (await conn.execute(statement)).first()
        return (
            None
            if row is None
            else decode_definition(row.name, row.language, row.status, row.updated_at, row.definition)
        )

    async def list(self) -> list[TemplateDefinition]:
        statement = sa.select(table).order_by(table.c.name, table.c.language)
        async with self._transaction() as conn:
            rows = (await conn.execute(statement)).all()
        return [_decode(row) for row in rows]
