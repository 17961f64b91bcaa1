"""An in-process :class:`~dispatcher_core.ports.EventPublisher` with subscribers and a bounded history."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

from dispatcher_core.events import DomainEvent

__all__ = ["EventHandler", "MemoryEventBus"]

_log = logging.getLogger(__name__)

EventHandler = Callable[[DomainEvent], Awaitable[None]]


class MemoryEventBus:
    """Calls every subscriber for every event, in order. A failing subscriber is logged and skipped: it never
    breaks publication for the others (the port's contract)."""

    def __init__(self, history: int | None = 10_000) -> None:
        self._subscribers: list[EventHandler] = []
        self.history: deque[DomainEvent] = deque(maxlen=history)

    def subscribe(self, handler: EventHandler) -> Callable[[], None]:
        """Register ``handler``; returns a function that unsubscribes it."""
        self._subscribers.append(handler)

        def unsubscribe() -> None:
            if handler in self._subscribers:
                self._subscribers.remove(handler)

        return unsubscribe

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        for event in events:
            self.history.append(event)
            for handler in tuple(self._subscribers):
                try:
                    await handler(event)
                except Exception:  # a subscriber's bug must not stop delivery to the others
                    _log.exception("event subscriber failed on %s", event.type)
