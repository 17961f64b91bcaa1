"""Throughput reservations of one process (:class:`~dispatcher_core.ports.ThroughputReservations`): the
memory store and SQLite, where every sender is in one process or on one machine."""

from __future__ import annotations

from datetime import datetime, timedelta

__all__ = ["MemoryThroughput"]


class MemoryThroughput:
    """Share one instance between the senders of a process."""

    def __init__(self) -> None:
        self._next: dict[str, datetime] = {}

    async def reserve(self, key: str, interval: timedelta, now: datetime) -> timedelta:
        slot = max(self._next.get(key, now), now)
        self._next[key] = slot + interval
        return slot - now
