"""The SQL unit of work: one database transaction per read -> decide -> apply cycle.

``__aenter__`` takes a connection and begins the transaction (on SQLite, ``BEGIN IMMEDIATE`` after queueing on
the store's in-process lock); ``commit`` commits it; ``__aexit__`` rolls back whatever was not committed and
returns the connection. Isolation comes from the database: row locks and version compare-and-set for
conversations and presences, the queue lock for the rotation, unique keys for I1, I2 and I7.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Self

from dispatcher_adapters.sql.connections import Connections
from dispatcher_adapters.sql.events import SqlEventJournal
from dispatcher_adapters.sql.repositories import (
    SqlConversationRepository,
    SqlOutboxRepository,
    SqlPendingStore,
    SqlPresenceRepository,
    SqlQueueRepository,
    SqlSlotClaims,
)
from dispatcher_adapters.sql.statements import Statements
from dispatcher_adapters.sql.transaction import Transaction

__all__ = ["SqlUnitOfWork"]


class SqlUnitOfWork:
    """Implements :class:`~dispatcher_core.ports.UnitOfWork`. Made by :meth:`SqlStore.unit_of_work`."""

    __slots__ = ("_conversations", "_events", "_outbox", "_pending", "_presence", "_queue", "_slots", "_tx")

    def __init__(
        self,
        connections: Connections,
        statements: Statements,
        lock: asyncio.Lock | None,
        event_channel: str | None = None,
    ) -> None:
        """``event_channel``: carry the events recorded here to PostgreSQL listeners (``events.py``)."""
        self._tx = Transaction(connections, statements, lock)
        self._events = SqlEventJournal(self._tx, event_channel)
        self._conversations = SqlConversationRepository(self._tx)
        self._pending = SqlPendingStore(self._tx)
        self._queue = SqlQueueRepository(self._tx)
        self._presence = SqlPresenceRepository(self._tx)
        self._slots = SqlSlotClaims(self._tx)
        self._outbox = SqlOutboxRepository(self._tx)

    @property
    def conversations(self) -> SqlConversationRepository:
        return self._conversations

    @property
    def pending(self) -> SqlPendingStore:
        return self._pending

    @property
    def queue(self) -> SqlQueueRepository:
        return self._queue

    @property
    def presence(self) -> SqlPresenceRepository:
        return self._presence

    @property
    def slots(self) -> SqlSlotClaims:
        return self._slots

    @property
    def events(self) -> SqlEventJournal:
        return self._events

    @property
    def outbox(self) -> SqlOutboxRepository:
        return self._outbox

    async def __aenter__(self) -> Self:
        await self._tx.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._tx.close()

    async def commit(self) -> None:
        await self._tx.commit()

    async def rollback(self) -> None:
        await self._tx.rollback()
