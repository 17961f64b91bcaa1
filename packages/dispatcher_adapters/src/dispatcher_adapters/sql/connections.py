"""Connections kept checked out between units of work.

A unit of work is a few milliseconds of statements; taking a connection from SQLAlchemy's pool and giving it
back costs about 80 us of CPU each time (an ``AsyncConnection``, greenlet hops, reset-on-return) - a
measurable share of a short transaction. So the store keeps up to ``keep`` connections checked out, idle, and
hands them out last-in first-out; more concurrent units of work take more from the pool (up to its size plus
overflow) and give the extra ones back. The pool still creates, limits and disposes of connections.

A connection whose transaction could not be rolled back cleanly is broken: it is invalidated (closed for good)
instead of being kept. A broken connection usually means the server restarted or dropped its connections, so
the idle ones go too: the next units of work get fresh connections instead of failing one stale one at a time.
An idle connection the driver already knows to be closed is never handed out; connections taken from the pool
are checked by the engine's pre-ping (:mod:`~dispatcher_adapters.sql.engine`).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

__all__ = ["Connections", "Lease"]


@dataclass(slots=True)
class Lease:
    """A connection lent to one unit of work: SQLAlchemy's side and the driver's own connection."""

    connection: AsyncConnection
    driver_connection: Any


def _known_closed(lease: Lease) -> bool:
    """asyncpg knows when the server closed a connection (aiosqlite has nothing to lose)."""
    is_closed = getattr(lease.driver_connection, "is_closed", None)
    return callable(is_closed) and bool(is_closed())


class Connections:
    __slots__ = ("_closed", "_engine", "_idle", "_keep")

    def __init__(self, engine: AsyncEngine, keep: int) -> None:
        self._engine = engine
        self._keep = keep
        self._idle: list[Lease] = []
        self._closed = False

    async def acquire(self) -> Lease:
        """An idle connection, else one from the pool (may wait for it, or raise the pool's errors)."""
        while self._idle:
            lease = self._idle.pop()
            if not _known_closed(lease):
                return lease
            with contextlib.suppress(Exception):  # the server closed it: nothing to give back
                await lease.connection.invalidate()
        connection = await self._engine.connect()
        try:
            raw = await connection.get_raw_connection()
        except BaseException:
            await connection.close()
            raise
        return Lease(connection, raw.driver_connection)

    async def release(self, lease: Lease, *, healthy: bool) -> None:
        """Take ``lease`` back; its transaction must be over (committed or rolled back)."""
        if healthy and not self._closed and len(self._idle) < self._keep:
            self._idle.append(lease)
            return
        if not healthy:
            with contextlib.suppress(Exception):  # a broken connection may fail even to be invalidated
                await lease.connection.invalidate()
            await self._drop_idle()
        with contextlib.suppress(Exception):  # same: nothing more can be done for it
            await lease.connection.close()

    async def close(self) -> None:
        """Give every idle connection back to the pool (before the engine is disposed)."""
        self._closed = True
        await self._drop_idle()

    async def _drop_idle(self) -> None:
        idle, self._idle = self._idle, []
        for lease in idle:
            with contextlib.suppress(Exception):  # a dead connection is simply dropped
                await lease.connection.close()
