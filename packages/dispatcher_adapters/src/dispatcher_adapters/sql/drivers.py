"""Running compiled statements (:class:`~dispatcher_adapters.sql.statements.Sql`) on the driver connection the
engine's pool hands out: asyncpg for PostgreSQL, aiosqlite for SQLite.

Each driver does what SQLAlchemy's type layer would otherwise do for these tables: PostgreSQL takes and returns
aware datetimes (``timestamptz``) as they are; SQLite stores the naive UTC value as text in SQLAlchemy's own
format (``YYYY-MM-DD HH:MM:SS.ffffff``, so text order is time order) and gets it back as an aware UTC
datetime. Transactions: ``BEGIN`` ... ``COMMIT`` on PostgreSQL; ``BEGIN IMMEDIATE`` on SQLite, which takes the
write lock at once (see :mod:`~dispatcher_adapters.sql.engine`). ``rollback`` asks the connection whether a
transaction is still open, so it is right after a failed statement and after a failed commit alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from dispatcher_adapters.sql.statements import Sql
from dispatcher_core.errors import ConcurrencyConflict

__all__ = ["AsyncpgDriver", "Driver", "SqliteDriver", "driver_for"]

Row = Sequence[Any]


class Driver(Protocol):
    async def begin(self) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None:
        """Roll back the open transaction, if there is one."""
        ...

    async def fetch(self, sql: Sql, args: tuple[Any, ...]) -> list[Row]: ...

    async def execute(self, sql: Sql, args: tuple[Any, ...]) -> int:
        """Run a write; the number of rows it changed."""
        ...

    async def execute_many(self, sql: Sql, args: list[tuple[Any, ...]]) -> None: ...

    def is_closed(self) -> bool:
        """Whether the connection is known to be gone (the server closed it, or it broke)."""
        ...


class AsyncpgDriver:
    """``conn`` is an ``asyncpg.Connection``; its statement cache keeps every statement prepared.

    Transactions are plain ``BEGIN`` / ``COMMIT`` / ``ROLLBACK``, and the connection's own report of whether a
    transaction is open decides whether a rollback is needed: after a failed ``COMMIT`` the server has already
    ended the transaction, after a failed statement it has not.
    """

    __slots__ = ("_conn",)

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def begin(self) -> None:
        await self._conn.execute("BEGIN")

    async def commit(self) -> None:
        status = await self._conn.execute("COMMIT")
        if status != "COMMIT":  # "ROLLBACK": the transaction had failed; nothing was applied
            raise ConcurrencyConflict("the database rolled the transaction back instead of committing it")

    async def rollback(self) -> None:
        if self._conn.is_in_transaction():
            await self._conn.execute("ROLLBACK")

    async def fetch(self, sql: Sql, args: tuple[Any, ...]) -> list[Row]:
        rows: list[Row] = await self._conn.fetch(sql.text, *args)
        return rows

    async def execute(self, sql: Sql, args: tuple[Any, ...]) -> int:
        status: str = await self._conn.execute(sql.text, *args)  # e.g. "INSERT 0 1", "UPDATE 0"
        return int(status.rsplit(" ", 1)[-1])

    async def execute_many(self, sql: Sql, args: list[tuple[Any, ...]]) -> None:
        await self._conn.executemany(sql.text, args)

    def is_closed(self) -> bool:
        return bool(self._conn.is_closed())


def _to_sqlite(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    return value


def _from_sqlite(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)


class SqliteDriver:
    """``conn`` is an ``aiosqlite.Connection`` whose ``isolation_level`` is ``None`` (we issue ``BEGIN``)."""

    __slots__ = ("_conn",)

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def begin(self) -> None:
        await self._conn.execute("BEGIN IMMEDIATE")

    async def commit(self) -> None:
        await self._conn.execute("COMMIT")  # a COMMIT that fails (SQLITE_BUSY) leaves the transaction open

    async def rollback(self) -> None:
        if self._conn.in_transaction:
            await self._conn.execute("ROLLBACK")

    async def fetch(self, sql: Sql, args: tuple[Any, ...]) -> list[Row]:
        rows = await self._conn.execute_fetchall(sql.text, tuple(_to_sqlite(value) for value in args))
        if not sql.datetime_columns:
            return list(rows)
        converted: list[Row] = []
        for row in rows:
            values = list(row)
            for index in sql.datetime_columns:
                values[index] = _from_sqlite(values[index])
            converted.append(values)
        return converted

    async def execute(self, sql: Sql, args: tuple[Any, ...]) -> int:
        cursor = await self._conn.execute(sql.text, tuple(_to_sqlite(value) for value in args))
        return int(cursor.rowcount)

    async def execute_many(self, sql: Sql, args: list[tuple[Any, ...]]) -> None:
        await self._conn.executemany(sql.text, [tuple(_to_sqlite(value) for value in row) for row in args])

    def is_closed(self) -> bool:
        return False  # a file: nothing on the other side can go away


def driver_for(dialect: str, driver_connection: Any) -> Driver:
    if dialect == "postgresql":
        return AsyncpgDriver(driver_connection)
    return SqliteDriver(driver_connection)
