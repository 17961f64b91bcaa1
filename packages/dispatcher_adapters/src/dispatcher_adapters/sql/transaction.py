"""One database transaction, as a unit of work uses it: a pooled connection and a transaction opened together,
every statement run with driver errors translated, and a transaction spoiled by a failed statement refused at
commit, so that a unit of work can never apply part of its writes.

A connection on which anything failed as ``StoreUnavailable`` (the server restarted, the network dropped it)
is given back as broken, never kept for the next unit of work: after a PostgreSQL restart the first unit of
work fails, and the next ones get fresh connections - the store recovers by itself, without a human."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping
from typing import Any

from dispatcher_adapters.sql.connections import Connections, Lease
from dispatcher_adapters.sql.drivers import Driver, Row, driver_for
from dispatcher_adapters.sql.errors import translate_if_driver_error, translated_errors
from dispatcher_adapters.sql.statements import Sql, Statements
from dispatcher_core.errors import DispatcherError, InvalidInput, StoreUnavailable

__all__ = ["Transaction"]

Params = Mapping[str, Any] | None


class Transaction:
    """Owned by one :class:`~dispatcher_adapters.sql.unit_of_work.SqlUnitOfWork`; not shared between tasks.

    ``lock`` is the store's in-process writer lock (SQLite) or ``None`` (PostgreSQL, where the database does
    all the waiting).
    """

    __slots__ = (
        "_connections",
        "_driver",
        "_failure",
        "_holds_lock",
        "_in_transaction",
        "_lease",
        "_lock",
        "_lost",
        "_queue_locked",
        "committed",
        "statements",
    )

    def __init__(self, connections: Connections, statements: Statements, lock: asyncio.Lock | None) -> None:
        self._connections = connections
        self.statements = statements
        self._lock = lock
        self._holds_lock = False
        self._lease: Lease | None = None
        self._driver: Driver | None = None
        self._in_transaction = False
        self._failure: DispatcherError | None = None
        self._lost = False  # the connection failed as unavailable: never reuse it
        self._queue_locked = False
        self.committed = False

    async def open(self) -> None:
        if self._lease is not None or self.committed:
            raise InvalidInput("a unit of work is used once")
        if self._lock is not None:
            await self._lock.acquire()
            self._holds_lock = True
        try:
            with translated_errors():
                self._lease = await self._connections.acquire()
                self._driver = driver_for(self.statements.dialect.name, self._lease.driver_connection)
                await self._begin(self._driver)
        except StoreUnavailable:
            self._lost = True
            await self.close()
            raise
        except BaseException:
            await self.close()
            raise

    async def _begin(self, driver: Driver) -> None:
        await driver.begin()
        self._in_transaction = True

    def _ready(self) -> Driver:
        if self._driver is None:
            raise InvalidInput("the unit of work is not open: use it in `async with`")
        return self._driver

    async def fetch(self, sql: Sql, params: Params = None) -> list[Row]:
        """Run a query. After ``commit`` it runs on its own (reads stay allowed); after ``rollback`` the unit of
        work goes on in a new transaction."""
        driver = self._ready()
        if not self._in_transaction and not self.committed:
            await self._run(self._begin(driver))
        rows: list[Row] = await self._run(driver.fetch(sql, sql.args(params)))
        return rows

    async def write(self, sql: Sql, params: Params) -> int:
        """Run a write; the number of rows it changed. A write after ``commit`` is refused."""
        driver = await self._writable()
        count: int = await self._run(driver.execute(sql, sql.args(params)))
        return count

    async def write_many(self, sql: Sql, rows: list[Mapping[str, Any]]) -> None:
        driver = await self._writable()
        await self._run(driver.execute_many(sql, [sql.args(row) for row in rows]))

    async def _writable(self) -> Driver:
        driver = self._ready()
        if self.committed:
            raise InvalidInput("this unit of work has committed: it accepts no more writes")
        if not self._in_transaction:  # rolled back earlier: the unit of work goes on in a new transaction
            await self._run(self._begin(driver))
        return driver

    async def _run(self, work: Awaitable[Any]) -> Any:
        try:
            return await work
        except DispatcherError:
            raise
        except Exception as exc:
            # The database refused the statement or is gone (our own checks run before any statement):
            # remember it, so that commit cannot apply the writes around it.
            failure = translate_if_driver_error(exc)
            if failure is None:
                raise
            self._failure = failure
            if isinstance(failure, StoreUnavailable):
                self._lost = True
            raise failure from exc

    async def lock_queue(self) -> None:
        """Serialize queue access with every other transaction until this one ends (PostgreSQL: an advisory
        transaction lock; SQLite: already serialized by ``BEGIN IMMEDIATE``). Idempotent."""
        if self._queue_locked:
            return
        if self.statements.lock_queue is not None:
            await self.fetch(self.statements.lock_queue)
        self._queue_locked = True

    async def commit(self) -> None:
        driver = self._ready()
        if self.committed:
            raise InvalidInput("this unit of work has already committed")
        if self._failure is not None:
            # A statement failed: on PostgreSQL the transaction is aborted, and on either database committing
            # what did succeed would be a partial write. Refuse, roll back, report the same kind of failure.
            failure = self._failure
            await self.rollback()
            raise type(failure)(f"an earlier statement of this unit of work failed, nothing applied: {failure}")
        try:
            with translated_errors():
                self._in_transaction = False
                await driver.commit()
        except DispatcherError as exc:
            if isinstance(exc, StoreUnavailable):
                self._lost = True
            await self.rollback()
            raise
        self.committed = True
        self._queue_locked = False

    async def rollback(self) -> None:
        driver = self._driver
        self._failure = None
        self._queue_locked = False
        self._in_transaction = False
        if driver is not None:
            try:
                with translated_errors():
                    await driver.rollback()
            except StoreUnavailable:
                self._lost = True
                raise

    async def close(self) -> None:
        """Roll back whatever was not committed and give the connection back. Never raises a driver error:
        a connection that cannot even roll back is broken, and is discarded instead of kept."""
        lease, driver = self._lease, self._driver
        self._lease = self._driver = None
        self._in_transaction = False
        try:
            if lease is not None:
                healthy = not self._lost and not (driver is not None and driver.is_closed())
                if driver is not None and healthy:
                    try:
                        await driver.rollback()
                    except Exception:  # the server rolls the transaction back itself when the connection dies
                        healthy = False
                await self._connections.release(lease, healthy=healthy)
        finally:
            self._release_lock()

    def _release_lock(self) -> None:
        if self._holds_lock and self._lock is not None:
            self._holds_lock = False
            self._lock.release()
