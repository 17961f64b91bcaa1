"""The SQL store: an engine, its statements and the unit-of-work factory, for SQLite or PostgreSQL.

    store = await SqlStore.create("sqlite+aiosqlite:///./dispatcher.sqlite3")   # migrates itself
    orchestrator = DispatcherOrchestrator(uow_factory=store.unit_of_work, ...)
    ...
    await store.close()

SQLite is the embedded default: :meth:`SqlStore.create` brings its schema to head on start. PostgreSQL is
migrated explicitly (``dispatcher db upgrade``) by whoever deploys; :meth:`create` only checks that the schema
is at head and refuses to start otherwise, so two versions of the app never write one schema differently.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from dispatcher_adapters.sql.api_keys import SqlApiKeys
from dispatcher_adapters.sql.connections import Connections
from dispatcher_adapters.sql.engine import (
    DEFAULT_BUSY_TIMEOUT_MS,
    DEFAULT_STATEMENT_TIMEOUT_MS,
    create_engine,
    is_sqlite,
    normalize_url,
)
from dispatcher_adapters.sql.errors import translated_errors
from dispatcher_adapters.sql.events import CHANNEL
from dispatcher_adapters.sql.listener import Handler, PostgresEventSubscriber
from dispatcher_adapters.sql.media import SqlMediaIndex
from dispatcher_adapters.sql.migrate import current_revision, head_revision, upgrade
from dispatcher_adapters.sql.statements import Statements
from dispatcher_adapters.sql.templates import SqlTemplateCatalogue
from dispatcher_adapters.sql.transaction import Transaction
from dispatcher_adapters.sql.unit_of_work import SqlUnitOfWork
from dispatcher_core.errors import InvalidInput, StoreUnavailable

__all__ = ["SchemaNotCurrent", "SqlStore"]


class SchemaNotCurrent(StoreUnavailable):
    """The database schema is not at the revision this code needs: run ``dispatcher db upgrade``."""


class SqlStore:
    """Shared by every task of a process. :meth:`unit_of_work` is the
    :class:`~dispatcher_core.ports.UnitOfWorkFactory`."""

    def __init__(self, engine: AsyncEngine, *, keep_connections: int = 5, carry_events: bool = False) -> None:
        """Wrap an engine made by :func:`~dispatcher_adapters.sql.engine.create_engine` (which sets up SQLite).
        Prefer :meth:`create`, which also takes care of the schema. ``keep_connections``: how many connections
        stay checked out between units of work (see :mod:`~dispatcher_adapters.sql.connections`).

        ``carry_events`` (PostgreSQL only): units of work write the events recorded in their journal in their
        own transaction and announce them with ``NOTIFY`` (:mod:`~dispatcher_adapters.sql.events`); receive
        them with :meth:`event_subscriber`. Off, recorded events are ignored (another transport carries them).
        """
        if carry_events and engine.dialect.name != "postgresql":
            raise InvalidInput(
                "only PostgreSQL carries events between processes: SQLite serves one process "
                "(use PostgreSQL, or Redis, for several instances)"
            )
        self._engine = engine
        self._event_channel = CHANNEL if carry_events else None
        self._connections = Connections(engine, keep=keep_connections)
        self._statements = Statements.for_dialect(engine.dialect)
        # SQLite has one writer at a time: units of work of this process queue here instead of polling the
        # file lock. PostgreSQL needs no such thing.
        self._lock = asyncio.Lock() if engine.dialect.name == "sqlite" else None

    @classmethod
    async def create(
        cls,
        url: str | URL,
        *,
        migrate: bool | None = None,
        pool_size: int = 5,
        max_overflow: int = 10,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS,
        carry_events: bool = False,
    ) -> SqlStore:
        """Create the engine and make sure the schema is current.

        ``migrate``: upgrade the schema to head first. Defaults to ``True`` for SQLite (the embedded default
        needs no setup) and ``False`` for PostgreSQL, which must then already be at head
        (:class:`SchemaNotCurrent` otherwise). Unreachable database: :class:`StoreUnavailable`. The timeouts
        are those of :func:`~dispatcher_adapters.sql.engine.create_engine`. ``carry_events``: see :meth:`__init__`.
        """
        parsed = normalize_url(url)
        engine = create_engine(
            parsed,
            pool_size=pool_size,
            max_overflow=max_overflow,
            busy_timeout_ms=busy_timeout_ms,
            statement_timeout_ms=statement_timeout_ms,
        )
        try:
            if migrate if migrate is not None else is_sqlite(parsed):
                await upgrade(engine)
            else:
                found, head = await current_revision(engine), head_revision()
                if found != head:
                    raise SchemaNotCurrent(
                        f"database schema is at revision {found or 'none'}, this version needs {head}: "
                        "run `dispatcher db upgrade`"
                    )
        except BaseException:
            await engine.dispose()
            raise
        try:
            return cls(engine, keep_connections=pool_size, carry_events=carry_events)
        except BaseException:
            await engine.dispose()
            raise

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    def unit_of_work(self) -> SqlUnitOfWork:
        """A fresh unit of work (the :class:`~dispatcher_core.ports.UnitOfWorkFactory`)."""
        return SqlUnitOfWork(self._connections, self._statements, self._lock, self._event_channel)

    @property
    def carries_events(self) -> bool:
        return self._event_channel is not None

    def event_subscriber(
        self,
        *,
        on_agent_event: Handler,
        resync: Callable[[str], Awaitable[None]],
        on_admin_event: Handler | None = None,
        on_admin_resync: Callable[[], Awaitable[None]] | None = None,
        application_name: str = "dispatcher-events",
        **options: Any,
    ) -> PostgresEventSubscriber:
        """A listener for the events this store carries, on a connection of its own (see
        :class:`~dispatcher_adapters.sql.listener.PostgresEventSubscriber`; ``options`` are its tuning).
        ``application_name`` names that connection in ``pg_stat_activity``."""
        if self._event_channel is None:
            raise InvalidInput("this store does not carry events: create it with carry_events=True")
        dsn = self._engine.url.set(drivername="postgresql").render_as_string(hide_password=False)

        async def connect() -> Any:
            import asyncpg  # type: ignore[import-untyped]  # noqa: PLC0415  - the postgres extra; no type information

            return await asyncpg.connect(dsn, timeout=10, server_settings={"application_name": application_name})

        return PostgresEventSubscriber(
            connect,
            on_agent_event=on_agent_event,
            resync=resync,
            on_admin_event=on_admin_event,
            on_admin_resync=on_admin_resync,
            channel=self._event_channel,
            **options,
        )

    def template_catalogue(self) -> SqlTemplateCatalogue:
        """The approved-template catalogue kept in this database (the ``TemplateCatalogue`` port)."""
        return SqlTemplateCatalogue(self._engine, self._lock)

    def media_index(self) -> SqlMediaIndex:
        """The media ids customers' messages announced, kept in this database (the ``MediaIndex`` port)."""
        return SqlMediaIndex(self._engine, self._lock)

    def transaction(self) -> Transaction:
        """A bare transaction on the store's connections, for adapters that are not part of the unit of work
        (the shared throughput)."""
        return Transaction(self._connections, self._statements, self._lock)

    def api_keys(self) -> SqlApiKeys:
        """The public API's keys (hashed), kept in this database (the ``ApiKeyRepository`` port)."""
        return SqlApiKeys(self._engine, self._lock)

    async def ping(self) -> None:
        """Raise :class:`StoreUnavailable` unless the database answers (for ``/readyz``)."""
        with translated_errors():
            async with self._engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))

    async def close(self) -> None:
        """Close every connection. Units of work still running fail with ``StoreUnavailable``."""
        await self._connections.close()
        await self._engine.dispose()
