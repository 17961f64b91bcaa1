"""The event dispatcher (seed phase 2): listeners subscribe to event types, events are handed to them.

A listener subscribed to a class also receives its subclasses' events (subscribe to ``object`` to see them
all). Listeners run one after the other in subscription order; one that raises is logged and counted, and
never stops the others or the sender that dispatched the event: a broken statistics listener must not fail a
send. Adding a listener is described in ``docs/guides/add-an-event-listener.md``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

__all__ = ["EventDispatcher", "Listener"]

_log = logging.getLogger(__name__)

E = TypeVar("E")
Listener = Callable[[E], Awaitable[None]]


class EventDispatcher:
    def __init__(self) -> None:
        self._listeners: dict[type, list[Callable[[Any], Awaitable[None]]]] = {}
        self.delivered = 0
        self.failed = 0

    def subscribe(self, event_type: type[E], listener: Callable[[E], Awaitable[None]]) -> Callable[[], None]:
        """Call ``listener`` for every event that is an instance of ``event_type``. Returns an unsubscribe
        function."""
        listeners = self._listeners.setdefault(event_type, [])
        listeners.append(listener)

        def unsubscribe() -> None:
            if listener in listeners:
                listeners.remove(listener)

        return unsubscribe

    async def dispatch(self, event: object) -> None:
        for event_type in type(event).__mro__:
            for listener in tuple(self._listeners.get(event_type, ())):
                try:
                    await listener(event)
                except Exception:  # one listener's bug must not break the others nor the send
                    self.failed += 1
                    _log.exception("event listener %r failed on %s", listener, type(event).__name__)
                else:
                    self.delivered += 1

    @property
    def success_rate(self) -> float:
        """Share of listener calls that did not raise (the seed asks for > 99 %); 1.0 before any call."""
        total = self.delivered + self.failed
        return 1.0 if total == 0 else self.delivered / total
