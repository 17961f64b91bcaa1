"""My adapter for one port, yours for the rest: a unit of work made of a complete store's unit of work with
some of its ports replaced, so one port's conformance suite runs before the rest of a store exists.

    from dispatcher_adapters.memory import MemoryStore
    from dispatcher_core.testing.hybrid import hybrid_store

    class TestMyQueue(QueueRepositoryConformance):
        @pytest.fixture
        def uow_factory(self) -> UnitOfWorkFactory:
            backend = MyQueueBackend()                       # shared by every unit of work of one test
            return hybrid_store(MemoryStore().unit_of_work, queue=backend.begin)

Each replacement is given as a factory, called once per unit of work when it is entered, that returns the port
*and* takes part in the unit of work's outcome: it has ``async commit()`` and ``async rollback()``
(:class:`Transactional`). The hybrid commits the replaced ports first, then the base; it rolls back all of
them. This is a test harness, not a store: the two commits are not atomic together, and isolation between
concurrent units of work comes from the base (the in-memory store runs them one at a time).

Standard library only.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Protocol, Self

from dispatcher_core.errors import InvalidInput
from dispatcher_core.ports import (
    ConversationRepository,
    PendingStore,
    PresenceRepository,
    QueueRepository,
    SlotClaims,
    UnitOfWork,
    UnitOfWorkFactory,
)
from dispatcher_core.ports.event_journal import EventJournal
from dispatcher_core.ports.outbox_repository import OutboxRepository

__all__ = [
    "HybridUnitOfWork",
    "Transactional",
    "TransactionalConversations",
    "TransactionalPending",
    "TransactionalPresence",
    "TransactionalQueue",
    "TransactionalSlots",
    "hybrid_store",
]


class Transactional(Protocol):
    """What a replaced port adds to its port: it learns how the unit of work ended."""

    async def commit(self) -> None:
        """Apply this port's writes (called once, before the base store commits)."""
        ...

    async def rollback(self) -> None:
        """Discard this port's writes not yet committed (``rollback()`` inside the block, or leaving it)."""
        ...


class TransactionalConversations(ConversationRepository, Transactional, Protocol): ...


class TransactionalPending(PendingStore, Transactional, Protocol): ...


class TransactionalQueue(QueueRepository, Transactional, Protocol): ...


class TransactionalPresence(PresenceRepository, Transactional, Protocol): ...


class TransactionalSlots(SlotClaims, Transactional, Protocol): ...


class HybridUnitOfWork:
    """Implements :class:`~dispatcher_core.ports.UnitOfWork`: the base's ports except the replaced ones."""

    def __init__(
        self,
        base: UnitOfWork,
        *,
        conversations: Callable[[], TransactionalConversations] | None = None,
        pending: Callable[[], TransactionalPending] | None = None,
        queue: Callable[[], TransactionalQueue] | None = None,
        presence: Callable[[], TransactionalPresence] | None = None,
        slots: Callable[[], TransactionalSlots] | None = None,
    ) -> None:
        self._base = base
        self._factories = (conversations, pending, queue, presence, slots)
        self._conversations: TransactionalConversations | None = None
        self._pending: TransactionalPending | None = None
        self._queue: TransactionalQueue | None = None
        self._presence: TransactionalPresence | None = None
        self._slots: TransactionalSlots | None = None
        self._committed = False

    def _replaced(self) -> list[Transactional]:
        ports = (self._conversations, self._pending, self._queue, self._presence, self._slots)
        return [port for port in ports if port is not None]

    @property
    def conversations(self) -> ConversationRepository:
        return self._conversations if self._conversations is not None else self._base.conversations

    @property
    def pending(self) -> PendingStore:
        return self._pending if self._pending is not None else self._base.pending

    @property
    def queue(self) -> QueueRepository:
        return self._queue if self._queue is not None else self._base.queue

    @property
    def presence(self) -> PresenceRepository:
        return self._presence if self._presence is not None else self._base.presence

    @property
    def slots(self) -> SlotClaims:
        return self._slots if self._slots is not None else self._base.slots

    @property
    def events(self) -> EventJournal:
        return self._base.events

    @property
    def outbox(self) -> OutboxRepository:
        return self._base.outbox

    async def __aenter__(self) -> Self:
        await self._base.__aenter__()
        conversations, pending, queue, presence, slots = self._factories
        self._conversations = conversations() if conversations else None
        self._pending = pending() if pending else None
        self._queue = queue() if queue else None
        self._presence = presence() if presence else None
        self._slots = slots() if slots else None
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if not self._committed:
                for port in self._replaced():
                    await port.rollback()
        finally:
            await self._base.__aexit__(exc_type, exc, tb)

    async def commit(self) -> None:
        if self._committed:
            raise InvalidInput("this unit of work has already committed")
        for port in self._replaced():
            await port.commit()
        await self._base.commit()
        self._committed = True

    async def rollback(self) -> None:
        for port in self._replaced():
            await port.rollback()
        await self._base.rollback()


def hybrid_store(
    base: UnitOfWorkFactory,
    *,
    conversations: Callable[[], TransactionalConversations] | None = None,
    pending: Callable[[], TransactionalPending] | None = None,
    queue: Callable[[], TransactionalQueue] | None = None,
    presence: Callable[[], TransactionalPresence] | None = None,
    slots: Callable[[], TransactionalSlots] | None = None,
) -> UnitOfWorkFactory:
    """A :class:`~dispatcher_core.ports.UnitOfWorkFactory`: units of work of ``base`` with the given ports
    replaced (each argument a factory called once per unit of work)."""

    def unit_of_work() -> HybridUnitOfWork:
        return HybridUnitOfWork(
            base(), conversations=conversations, pending=pending, queue=queue, presence=presence, slots=slots
        )

    return unit_of_work
