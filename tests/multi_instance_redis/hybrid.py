"""The second topology of the multi-instance test: PostgreSQL as the system of record, Redis for the
round-robin rotation (and, in the worker, for events).

:class:`RecordWithRedisQueue` is a unit of work over two stores: conversations, messages, pending messages,
presence and slot claims in one PostgreSQL transaction (row locks, unique keys), the queue in Redis (read with
its version, rotated by the commit script's compare-and-set). The adapters cannot import each other, so this
composition lives with the test (an app would compose the same way in its container).

Commit order: Redis first, then PostgreSQL. Every PostgreSQL write already ran inside the open transaction
(locks held, unique keys checked), so the queue's compare-and-set decides: if another instance rotated the
queue meanwhile, Redis refuses, the transaction is rolled back and the cycle retried - nothing applied. The
one window left is a PostgreSQL ``COMMIT`` failing after Redis accepted (the server dies at that instant):
the queue would then have rotated for an assignment that did not happen, costing that agent one turn.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from dispatcher_core.ports import (
    ConversationRepository,
    EventJournal,
    OutboxRepository,
    PendingStore,
    PresenceRepository,
    QueueRepository,
    SlotClaims,
    UnitOfWork,
)

__all__ = ["RecordWithRedisQueue"]


class RecordWithRedisQueue:
    def __init__(self, record: UnitOfWork, rotation: UnitOfWork) -> None:
        self._record = record
        self._rotation = rotation

    @property
    def conversations(self) -> ConversationRepository:
        return self._record.conversations

    @property
    def pending(self) -> PendingStore:
        return self._record.pending

    @property
    def queue(self) -> QueueRepository:
        return self._rotation.queue

    @property
    def presence(self) -> PresenceRepository:
        return self._record.presence

    @property
    def slots(self) -> SlotClaims:
        return self._record.slots

    @property
    def events(self) -> EventJournal:
        return self._record.events

    @property
    def outbox(self) -> OutboxRepository:
        return self._record.outbox

    async def __aenter__(self) -> Self:
        await self._record.__aenter__()
        await self._rotation.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            await self._rotation.__aexit__(exc_type, exc, tb)
        finally:
            await self._record.__aexit__(exc_type, exc, tb)

    async def commit(self) -> None:
        await self._rotation.commit()
        await self._record.commit()

    async def rollback(self) -> None:
        await self._rotation.rollback()
        await self._record.rollback()
