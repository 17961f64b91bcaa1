"""Schema migrations, programmatically: :func:`upgrade`, :func:`downgrade`, :func:`current_revision`.

Alembic does the work on a connection we open, inside one transaction: on PostgreSQL under an advisory lock,
on SQLite under ``BEGIN IMMEDIATE``'s write lock. So several instances starting at once (each migrating the
embedded SQLite file, say) run the migrations once, and the others find the schema already at head.

Each function accepts a URL (an engine is created and disposed) or an existing :class:`AsyncEngine`.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dispatcher_adapters.sql.engine import create_engine
from dispatcher_adapters.sql.errors import translated_errors
from dispatcher_core.errors import InvalidInput

__all__ = ["MIGRATION_LOCK_KEY", "current_revision", "downgrade", "head_revision", "upgrade"]

#: PostgreSQL advisory lock held while migrating (any constant distinct from the queue's).
MIGRATION_LOCK_KEY = 0x0D15_9A7C_4000_0002

Target = str | URL | AsyncEngine


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", "dispatcher_adapters.sql:migrations")
    return config


@functools.cache
def head_revision() -> str:
    """The newest revision shipped with this package (read once: the scripts do not change at run time)."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:
        raise AssertionError("the migrations folder has no head revision")
    return head


@asynccontextmanager
async def _engine(target: Target) -> AsyncIterator[AsyncEngine]:
    if isinstance(target, AsyncEngine):
        yield target
        return
    engine = create_engine(target, statement_timeout_ms=0)  # a migration may legitimately run long
    try:
        yield engine
    finally:
        await engine.dispose()


async def _in_transaction(target: Target, work: Callable[[sa.Connection], None]) -> None:
    async with _engine(target) as engine:
        try:
            with translated_errors():
                async with engine.begin() as conn:
                    await _lock(conn)
                    await conn.run_sync(work)
        except CommandError as exc:  # an unknown revision, a broken history: the caller's input
            raise InvalidInput(f"migration refused: {exc}") from exc


async def _lock(conn: AsyncConnection) -> None:
    if conn.dialect.name == "postgresql":
        await conn.execute(sa.text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})"))


def _alembic(action: Callable[[Config], None]) -> Callable[[sa.Connection], None]:
    def work(connection: sa.Connection) -> None:
        config = _config()
        config.attributes["connection"] = connection
        action(config)

    return work


async def upgrade(target: Target, revision: str = "head") -> None:
    """Migrate the database at ``target`` up to ``revision`` (default: the newest). Idempotent."""
    if not revision:
        raise InvalidInput("revision must be a non-empty string (e.g. 'head')")
    await _in_transaction(target, _alembic(lambda config: command.upgrade(config, revision)))


async def downgrade(target: Target, revision: str) -> None:
    """Migrate the database at ``target`` down to ``revision`` (``"base"`` drops every table of the store)."""
    if not revision:
        raise InvalidInput("revision must be a non-empty string (e.g. 'base' or '-1')")
    await _in_transaction(target, _alembic(lambda config: command.downgrade(config, revision)))


async def current_revision(target: Target) -> str | None:
    """The revision the database is at, or ``None`` if it was never migrated."""
    found: list[str | None] = []

    def read(connection: sa.Connection) -> None:
        found.append(MigrationContext.configure(connection).get_current_revision())

    async with _engine(target) as engine:
        with translated_errors():
            async with engine.connect() as conn:
                await conn.run_sync(read)
    return found[0]
