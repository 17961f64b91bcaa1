"""Receiving, on one app instance, the events committed by every instance: the other half of the event port.

A transport is three things that must agree: the :class:`~dispatcher_core.ports.EventJournal` of its units of
work and/or its :class:`~dispatcher_core.ports.EventPublisher` (how events leave a unit of work), and one
:class:`EventSubscriber` per instance (how they arrive). The contract, the same for every transport (memory,
Redis, PostgreSQL; the conformance suite ``dispatcher_core.testing.conformance.EventTransportConformance``
checks it):

* each agent's events carry a ``seq`` one more than the agent's previous event, across all instances;
* every subscriber watching an agent receives each of its events once, in ``seq`` order; a subscriber's admin
  handler receives every event of every instance;
* a subscriber that may have missed events (a jump in the numbers, a lost connection) never delivers past the
  gap silently: it calls ``resync(agent_id)`` for every agent it watches that may be affected (and the admin
  resync), and the caller rebuilds that agent's view from the store, which is the truth;
* events of a unit of work that did not commit are never delivered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from dispatcher_core.events import DomainEvent

__all__ = ["AgentResync", "EnvelopeHandler", "EventEnvelope", "EventSubscriber"]


class EventEnvelope(Protocol):
    """An event as a subscriber receives it: ``agent_id`` and ``seq`` are set for an agent's event."""

    @property
    def agent_id(self) -> str | None: ...

    @property
    def seq(self) -> int | None: ...

    @property
    def event(self) -> DomainEvent: ...


EnvelopeHandler = Callable[[EventEnvelope], Awaitable[None]]
#: Called with an agent id whose events may have been missed: rebuild that agent's sockets from the store.
AgentResync = Callable[[str], Awaitable[None]]


class EventSubscriber(Protocol):
    """One per app instance; built with its handlers (``on_agent_event``, ``resync``, ``on_admin_event``,
    ``on_admin_resync``), which it calls one at a time, in order; a failing handler is logged, never stops it."""

    async def start(self) -> None:
        """Connect and start receiving. ``StoreUnavailable`` if the transport cannot be reached."""
        ...

    async def aclose(self) -> None:
        """Stop receiving and close the connection."""
        ...

    async def watch(self, agent_id: str) -> int:
        """Receive ``agent_id``'s events here (counted: once per socket). Returns the agent's ``seq`` at the
        moment delivery became certain: every event with a greater number will be delivered (or resynced),
        so a snapshot read from the store after this call misses nothing."""
        ...

    async def unwatch(self, agent_id: str) -> None:
        """One ``watch`` of ``agent_id`` is over; the last one stops its delivery here."""
        ...

    def last_seq(self, agent_id: str) -> int | None:
        """The last ``seq`` delivered (or resynchronised to) for ``agent_id`` here, ``None`` if not watched."""
        ...
