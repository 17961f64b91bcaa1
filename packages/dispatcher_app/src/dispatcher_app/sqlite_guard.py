"""One process per SQLite file: a second ``dispatcher serve`` (or ``uvicorn --workers 2``) refuses to start.

SQLite has no way to tell another process that something happened: events (``seq``-numbered frames for the
agent sockets) would stay in the process that committed them, and an agent connected to the other process
would silently miss them. So the app holds an exclusive ``flock`` on ``<database file>.instance-lock`` for as
long as it runs; the lock goes with the process (a SIGKILL frees it too). A second process finds it taken and
stops with :class:`SqliteInUse`, which says what to use instead. In-memory SQLite databases are private to
their process and need no lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import make_url

__all__ = ["SqliteInUse", "single_process_sqlite", "sqlite_file"]


class SqliteInUse(RuntimeError):
    """Another process serves this SQLite file."""


def sqlite_file(url: str) -> Path | None:
    """The database file a SQLite URL names, or ``None`` for an in-memory database."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file::memory:") or "mode=memory" in url:
        return None
    return Path(database).resolve()


@contextlib.contextmanager
def single_process_sqlite(url: str) -> Iterator[None]:
    """Hold the file's instance lock while inside; :class:`SqliteInUse` if another process holds it."""
    database = sqlite_file(url)
    if database is None:
        yield
        return
    lock = database.with_name(database.name + ".instance-lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SqliteInUse(
                f"another dispatcher process is already serving the SQLite database {database}. SQLite serves "
                "one process: its events cannot reach the agent sockets of another one. For several instances "
                "(or uvicorn --workers N) set DISPATCHER_DATABASE_URL to PostgreSQL (postgresql://...), with "
                "DISPATCHER_REDIS_URL optional; or run a single process."
            ) from None
        yield
    finally:
        os.close(fd)  # releases the lock
