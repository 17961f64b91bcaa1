"""Events that travel with the state they describe: the unit of work's journal of the cycle's events.

The orchestrator hands every cycle's events to ``uow.events.record(events)`` right before ``uow.commit()``,
and to :class:`~dispatcher_core.ports.EventPublisher` right after it. A store that can carry events itself
(PostgreSQL with ``LISTEN/NOTIFY``: a transactional outbox) writes them in the same transaction as the state
change, numbered per agent there, so an event is announced if and only if its state was committed; the
publisher is then only for in-process listeners. A store that cannot (memory, Redis, SQLite) keeps nothing
here and leaves delivery to the publisher.

Any :class:`~dispatcher_core.events.DomainEvent` may be recorded, whoever emits it: code that commits a unit
of work and has events to announce (the orchestrator, and any other service writing through a unit of work)
records them the same way, then publishes them after the commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from dispatcher_core.events import DomainEvent

__all__ = ["EventJournal"]


class EventJournal(Protocol):
    async def record(self, events: Sequence[DomainEvent]) -> None:
        """Keep ``events``, in this order, with the writes of this unit of work: committed with them (and then
        delivered to every subscriber, on every instance, each agent's events numbered by the store in commit
        order) or discarded with them. Called at most once per unit of work, right before ``commit``; an empty
        sequence records nothing. A store that does not carry events ignores the call.

        Raises what a write raises (``StoreUnavailable``, ``ConcurrencyConflict``): the unit of work then
        applies nothing, events included.
        """
        ...
