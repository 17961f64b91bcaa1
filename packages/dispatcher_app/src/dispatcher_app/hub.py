"""How domain events reach the sockets of this instance, numbered per agent.

Two implementations of one small protocol, chosen by the container:

* :class:`LocalEventHub` - the orchestrator's :class:`~dispatcher_core.ports.EventPublisher` for one instance
  (memory and SQL backends without Redis): an in-process counter numbers each agent's events, which are
  routed at once. Events do not leave the process, so it suits a single instance.
* :class:`SubscribedEventHub` - for several instances: events are numbered per agent by the transport - with
  Redis, a publisher numbers and publishes them after the commit (``dispatcher_adapters.redis``); with
  PostgreSQL alone, the unit of work writes and numbers them in its own transaction and ``NOTIFY`` announces
  them (``dispatcher_adapters.sql.events``), so the publisher is :class:`CarriedByStore` - and a subscriber
  on every instance receives the events of the agents connected there, and every event for the admin stream. A gap
  in an agent's numbers makes the subscriber ask for a *resync*: the agent's sockets here get a fresh
  ``hello`` built from the store.

The agent socket calls :meth:`EventHub.watch` before reading its ``hello`` snapshot, and
:meth:`EventHub.current_seq` just before: events numbered up to that are in the snapshot, later ones follow.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from dispatcher_app.serialization import JSON, admin_event_payload, agent_event_payload, agent_of
from dispatcher_app.ws.router import EventRouter
from dispatcher_app.ws.snapshot import agent_hello
from dispatcher_core.events import DomainEvent
from dispatcher_core.ports import (
    EnvelopeHandler,
    EventEnvelope,
    EventPublisher,
    EventSubscriber,
    UnitOfWorkFactory,
)

__all__ = [
    "CarriedByStore",
    "EnvelopeHandler",
    "EventHub",
    "EventSubscriber",
    "JournaledPublisher",
    "LocalEventHub",
    "SubscribedEventHub",
]


class EventHub(Protocol):
    @property
    def publisher(self) -> EventPublisher:
        """What the orchestrator publishes to."""
        ...

    async def watch(self, agent_id: str) -> None:
        """A socket of ``agent_id`` opened on this instance: receive the agent's events here."""
        ...

    async def unwatch(self, agent_id: str) -> None:
        """That socket closed (counted: the agent's last socket here stops the subscription)."""
        ...

    async def current_seq(self, agent_id: str) -> int:
        """The last ``seq`` of ``agent_id`` this instance has routed (0 if none): what ``hello`` carries."""
        ...


class LocalEventHub:
    """In-process numbering and routing; also the core's ``EventPublisher`` (:attr:`publisher`), which never
    raises for an absent or slow socket (the router only queues)."""

    def __init__(self, router: EventRouter) -> None:
        self._router = router
        self._seq: dict[str, int] = {}

    @property
    def publisher(self) -> EventPublisher:
        return self

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        for event in events:
            if self._router.admin_count:
                self._router.to_admins(admin_event_payload(event))
            agent_id = agent_of(event)
            if agent_id is not None:
                seq = self._seq.get(agent_id, 0) + 1
                self._seq[agent_id] = seq
                self._router.to_agent(agent_id, seq, agent_event_payload(event))

    async def watch(self, agent_id: str) -> None:
        return None  # every event of this process passes through publish() already

    async def unwatch(self, agent_id: str) -> None:
        return None

    async def current_seq(self, agent_id: str) -> int:
        return self._seq.get(agent_id, 0)


class CarriedByStore:
    """The publisher when the store carries events itself (PostgreSQL ``LISTEN/NOTIFY``): they were written
    and announced with the commit, and reach this instance's sockets through its subscriber like anyone's.
    (The app still wraps it with its metrics and in-process listeners.)"""

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        return None


class JournaledPublisher:
    """An :class:`EventPublisher` for events that no orchestrator cycle produced (outbound status changes from a
    status webhook or a send outcome): each batch is first recorded in a unit of work's event journal and
    committed - so a store that carries events itself (PostgreSQL ``LISTEN/NOTIFY``) numbers and announces them
    to every instance - then handed to ``publisher`` (Redis or in-process delivery; a no-op when the store
    carried them). Without the journal step those events would never leave the process on PostgreSQL alone."""

    def __init__(self, uow_factory: UnitOfWorkFactory, publisher: EventPublisher) -> None:
        self._uow_factory = uow_factory
        self._publisher = publisher

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        if not events:
            return
        async with self._uow_factory() as uow:
            await uow.events.record(events)
            await uow.commit()
        await self._publisher.publish(events)


#: Builds the subscriber given the hub's callbacks: (on_agent_event, resync, on_admin_event, on_admin_resync).
SubscriberFactory = Callable[
    [EnvelopeHandler, Callable[[str], Awaitable[None]], EnvelopeHandler, Callable[[], Awaitable[None]]],
    EventSubscriber,
]


class SubscribedEventHub:
    def __init__(
        self,
        *,
        router: EventRouter,
        publisher: EventPublisher,
        make_subscriber: SubscriberFactory,
        uow_factory: UnitOfWorkFactory,
    ) -> None:
        self._router = router
        self._publisher = publisher
        self._uow_factory = uow_factory
        self._subscriber = make_subscriber(self._on_agent_event, self._resync, self._on_admin_event, self._admin_resync)

    @property
    def publisher(self) -> EventPublisher:
        return self._publisher

    async def start(self) -> None:
        await self._subscriber.start()

    async def aclose(self) -> None:
        await self._subscriber.aclose()

    async def watch(self, agent_id: str) -> None:
        await self._subscriber.watch(agent_id)

    async def unwatch(self, agent_id: str) -> None:
        await self._subscriber.unwatch(agent_id)

    async def current_seq(self, agent_id: str) -> int:
        return self._subscriber.last_seq(agent_id) or 0

    async def _on_agent_event(self, envelope: EventEnvelope) -> None:
        if envelope.agent_id is not None and envelope.seq is not None:
            self._router.to_agent(envelope.agent_id, envelope.seq, agent_event_payload(envelope.event))

    async def _on_admin_event(self, envelope: EventEnvelope) -> None:
        if self._router.admin_count:
            self._router.to_admins(admin_event_payload(envelope.event))

    async def _resync(self, agent_id: str) -> None:
        """Events of ``agent_id`` were missed: its sockets here get a fresh ``hello`` from the store."""
        if not self._router.has_agent(agent_id):
            return
        seq = await self.current_seq(agent_id)
        hello = await agent_hello(self._uow_factory, agent_id)
        self._router.resync_agent(agent_id, hello, seq)

    async def _admin_resync(self) -> None:
        payload: JSON = {"type": "resync", "reason": "the event stream reconnected: re-read the admin routes"}
        self._router.to_admins(payload)
