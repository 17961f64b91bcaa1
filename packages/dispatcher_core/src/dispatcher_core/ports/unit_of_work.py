"""The atomic-commit port: one read -> decide -> apply cycle of the orchestrator.

    async with uow_factory() as uow:
        conversation = await uow.conversations.get_open_by_key(...)   # read
        decision = assignment.decide(...)                              # decide (pure)
        await uow.conversations.save(conversation.assign_to(...))      # apply ...
        await uow.commit()                                             # ... all or nothing

Contract every adapter must keep (the conformance suite checks it):

* Atomicity: either everything written through the unit of work is applied at ``commit``, or nothing is.
  Leaving the ``async with`` block without ``commit`` (normally or by an exception) rolls back.
* Isolation where it matters: if a conversation or presence that was saved, or the queue that was read, has
  been changed by another committed unit of work since it was read here, ``commit`` (or the write itself)
  raises :class:`~dispatcher_core.errors.ConcurrencyConflict` and nothing is applied. Adapters may get there by
  locking (SQL row and advisory locks) or optimistically (version compare-and-set, Redis ``WATCH`` or a Lua
  check); the core only relies on the conflict being reported.
* Read your own writes: within one unit of work, reads reflect the writes already made through it (the
  history read after ``add_message`` contains the message; the queue read after ``move_to_end`` shows the
  rotation; ``count_active_by_agent`` counts the assignment just saved).
* Unique keys are enforced by the store: one open conversation per key (I1), one message per
  (business number, external id) (I2), one claim per scheduled slot (I7), one outbound message per id,
  per wamid and per (agent, client id).
* Driver failures surface as :class:`~dispatcher_core.errors.StoreUnavailable`.
* A unit of work is used once and by one task; units of work are never nested.
* Events: ``events`` (:class:`~dispatcher_core.ports.event_journal.EventJournal`) takes the cycle's events
  right before ``commit``; a store that carries events commits them with the writes, or discards them with
  them.
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

from dispatcher_core.ports.conversation_repository import ConversationRepository
from dispatcher_core.ports.event_journal import EventJournal
from dispatcher_core.ports.outbox_repository import OutboxRepository
from dispatcher_core.ports.pending_store import PendingStore
from dispatcher_core.ports.presence_repository import PresenceRepository
from dispatcher_core.ports.queue_repository import QueueRepository
from dispatcher_core.ports.slot_claims import SlotClaims

__all__ = ["UnitOfWork", "UnitOfWorkFactory"]


class UnitOfWork(Protocol):
    @property
    def conversations(self) -> ConversationRepository: ...

    @property
    def pending(self) -> PendingStore: ...

    @property
    def queue(self) -> QueueRepository: ...

    @property
    def presence(self) -> PresenceRepository: ...

    @property
    def slots(self) -> SlotClaims: ...

    @property
    def events(self) -> EventJournal: ...

    @property
    def outbox(self) -> OutboxRepository:
        """Outbound messages and their send state, in the same transaction as the rest (DESIGN I9)."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed."""
        ...

    async def commit(self) -> None:
        """Apply every write atomically, or raise ``ConcurrencyConflict`` / ``StoreUnavailable`` and apply
        nothing. After a successful commit the unit of work accepts no more writes."""
        ...

    async def rollback(self) -> None:
        """Discard every write not yet committed."""
        ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork:
        """A fresh unit of work on the shared store."""
        ...
