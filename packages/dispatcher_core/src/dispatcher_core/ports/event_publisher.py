"""Where domain events go after a unit of work committed (agent sockets, the admin stream, metrics)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from dispatcher_core.events import DomainEvent

__all__ = ["EventPublisher"]


class EventPublisher(Protocol):
    async def publish(self, events: Sequence[DomainEvent]) -> None:
        """Deliver ``events`` to every subscriber, on every instance, in the given order.

        Called only after the state the events describe is committed, with the events the unit of work
        recorded in its :class:`~dispatcher_core.ports.EventJournal` (a store that carried them itself already
        delivered them to the sockets: the publisher then only feeds this process's listeners). Delivery is
        best effort: a subscriber that missed events (disconnection, a gap in its sequence numbers)
        resynchronises from the store, which stays the truth. Must not raise for a slow or absent subscriber.
        """
        ...
