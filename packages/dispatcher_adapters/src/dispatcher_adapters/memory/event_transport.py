"""The event port in one process: the reference transport of the conformance suite.

:class:`MemoryEventTransport` is an :class:`~dispatcher_core.ports.EventPublisher` that numbers each agent's
events in memory and hands them, in order, to every :class:`MemoryEventSubscriber` made from it (one per
simulated "instance" of the same process). Nothing can be lost in between, so it never needs a resync.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from dispatcher_adapters.event_wire import recipient
from dispatcher_core.events import DomainEvent

__all__ = ["MemoryEnvelope", "MemoryEventSubscriber", "MemoryEventTransport"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MemoryEnvelope:
    agent_id: str | None
    seq: int | None
    event: DomainEvent


Handler = Callable[[MemoryEnvelope], Awaitable[None]]


class MemoryEventTransport:
    def __init__(self) -> None:
        self._seq: dict[str, int] = {}
        self._subscribers: list[MemoryEventSubscriber] = []

    def current(self, agent_id: str) -> int:
        return self._seq.get(agent_id, 0)

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        for event in events:
            agent_id = recipient(event)
            seq = None
            if agent_id is not None:
                seq = self._seq[agent_id] = self._seq.get(agent_id, 0) + 1
            for subscriber in tuple(self._subscribers):
                await subscriber.receive(MemoryEnvelope(agent_id, seq, event))

    def subscriber(
        self,
        *,
        on_agent_event: Handler,
        resync: Callable[[str], Awaitable[None]],
        on_admin_event: Handler | None = None,
        on_admin_resync: Callable[[], Awaitable[None]] | None = None,
    ) -> MemoryEventSubscriber:
        """A subscriber of this transport (``resync`` and ``on_admin_resync`` are never needed in-process)."""
        return MemoryEventSubscriber(self, on_agent_event, on_admin_event)

    def _attach(self, subscriber: MemoryEventSubscriber) -> None:
        if subscriber not in self._subscribers:
            self._subscribers.append(subscriber)

    def _detach(self, subscriber: MemoryEventSubscriber) -> None:
        if subscriber in self._subscribers:
            self._subscribers.remove(subscriber)


class MemoryEventSubscriber:
    def __init__(self, transport: MemoryEventTransport, on_agent_event: Handler, on_admin_event: Handler | None):
        self._transport = transport
        self._on_agent_event = on_agent_event
        self._on_admin_event = on_admin_event
        self._watchers: dict[str, int] = {}
        self._last: dict[str, int] = {}

    async def start(self) -> None:
        self._transport._attach(self)

    async def aclose(self) -> None:
        self._transport._detach(self)

    async def watch(self, agent_id: str) -> int:
        self._watchers[agent_id] = self._watchers.get(agent_id, 0) + 1
        return self._last.setdefault(agent_id, self._transport.current(agent_id))

    async def unwatch(self, agent_id: str) -> None:
        count = self._watchers.get(agent_id, 0) - 1
        if count > 0:
            self._watchers[agent_id] = count
            return
        self._watchers.pop(agent_id, None)
        self._last.pop(agent_id, None)

    def last_seq(self, agent_id: str) -> int | None:
        return self._last.get(agent_id)

    async def receive(self, envelope: MemoryEnvelope) -> None:
        if self._on_admin_event is not None:
            await self._call(self._on_admin_event(envelope))
        agent_id, seq = envelope.agent_id, envelope.seq
        if agent_id is None or seq is None or agent_id not in self._last or seq <= self._last[agent_id]:
            return
        self._last[agent_id] = seq
        await self._call(self._on_agent_event(envelope))

    @staticmethod
    async def _call(call: Awaitable[None]) -> None:
        try:
            await call
        except Exception:  # a subscriber's bug must not stop delivery to the others
            _log.exception("event handler failed")
