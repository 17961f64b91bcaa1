"""Engine creation: which driver for which URL, and SQLite tuned for an embedded, single-writer store.

SQLite settings, applied on every new connection, and why:

* ``journal_mode=WAL`` - readers never block the writer and the writer never blocks readers; one ``fsync`` per
  checkpoint instead of per transaction. Persistent in the file once set.
* ``synchronous=NORMAL`` - with WAL this is still crash-safe (the database is never corrupted); a power cut
  may lose the last transactions committed before it, not a process crash. ``FULL`` costs an ``fsync`` per
  commit for that last bit of durability.
* ``busy_timeout`` - another *process* holding the write lock makes us wait (up to this many milliseconds)
  instead of failing at once; past it, the error becomes a retryable ``ConcurrencyConflict``.
* ``foreign_keys=ON`` - SQLite does not check foreign keys unless asked, per connection.
* the file's directory is created, if missing, just before the first connection (the app's default file lives
  in the platform's data directory, which may not exist yet).
* ``BEGIN IMMEDIATE`` for every transaction - takes the write lock at the start, so a read -> decide -> apply
  cycle can never be overtaken between its read and its write (a deferred transaction would fail on its
  first write with ``SQLITE_BUSY_SNAPSHOT``, which no busy timeout can wait out). Inside one process the store
  also queues units of work on an ``asyncio.Lock``, so they wait without polling the file lock.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from dispatcher_core.errors import InvalidInput

__all__ = ["DEFAULT_BUSY_TIMEOUT_MS", "DEFAULT_STATEMENT_TIMEOUT_MS", "create_engine", "is_sqlite", "normalize_url"]

DEFAULT_BUSY_TIMEOUT_MS = 5_000
DEFAULT_STATEMENT_TIMEOUT_MS = 30_000

_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg", "postgres": "postgresql+asyncpg"}
_ASYNC_DRIVERS = {"sqlite+aiosqlite", "postgresql+asyncpg"}


def normalize_url(url: str | URL) -> URL:
    """The async-driver URL for ``url``: ``sqlite://`` becomes ``sqlite+aiosqlite://`` and ``postgresql://``
    becomes ``postgresql+asyncpg://``. Any other database or driver is refused with a clear error."""
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError as exc:
        raise InvalidInput(f"not a database URL: {url!r}") from exc
    name = parsed.drivername
    if name in _DRIVERS:
        parsed = parsed.set(drivername=_DRIVERS[name])
    elif name not in _ASYNC_DRIVERS:
        raise InvalidInput(
            f"unsupported database URL scheme {name!r}: use sqlite+aiosqlite:///path or postgresql+asyncpg://..."
        )
    return parsed


def is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def create_engine(
    url: str | URL,
    *,
    pool_size: int = 5,
    max_overflow: int = 10,
    pool_timeout: float = 30.0,
    connect_timeout: float = 10.0,
    busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS,
    echo: bool = False,
) -> AsyncEngine:
    """An :class:`AsyncEngine` for ``url`` (see :func:`normalize_url`), with the SQLite settings above.
    Creating it opens no connection.

    PostgreSQL sessions get ``statement_timeout`` (``statement_timeout_ms``, 0 = none) and an
    ``idle_in_transaction_session_timeout`` of twice that: a statement stuck behind a lock, or an instance
    stuck in the middle of a transaction (holding the queue lock), fails with ``StoreUnavailable`` instead of
    stalling every instance. Migrations run with no statement timeout.

    PostgreSQL connections taken from the pool are pre-pinged (one round trip, only when the store's kept
    connections do not suffice): after a server restart, a dead pooled connection is replaced instead of
    failing a unit of work."""
    parsed = normalize_url(url)
    if busy_timeout_ms < 0 or statement_timeout_ms < 0 or connect_timeout <= 0 or pool_size < 1:
        raise InvalidInput(
            "busy_timeout_ms and statement_timeout_ms must be >= 0, connect_timeout > 0 and pool_size >= 1"
        )
    options: dict[str, Any] = {"echo": echo}
    if is_sqlite(parsed):
        options["connect_args"] = {"timeout": busy_timeout_ms / 1000}
        engine = create_async_engine(parsed, **options)
        _tune_sqlite(engine, busy_timeout_ms)
        return engine
    options["connect_args"] = {
        "timeout": connect_timeout,
        "server_settings": {
            "application_name": "dispatcher",
            "statement_timeout": str(statement_timeout_ms),
            "idle_in_transaction_session_timeout": str(2 * statement_timeout_ms),
        },
    }
    return create_async_engine(
        parsed,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_pre_ping=True,
        **options,
    )


def _tune_sqlite(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    sync_engine = engine.sync_engine
    database = sync_engine.url.database
    in_memory = database in (None, "", ":memory:")

    @event.listens_for(sync_engine, "do_connect")
    def _make_directory(*_args: Any) -> None:
        if database and not in_memory and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over BEGIN from the sqlite3 module, which would otherwise begin lazily on the first write.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            if not in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
