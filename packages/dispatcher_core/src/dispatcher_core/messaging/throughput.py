"""Spacing sends to respect a phone number's throughput (Meta: 80 messages per second by default).

Pure: :meth:`ThroughputLimiter.reserve` gives each send its own slot, ``1 / rate`` apart, and says how long the
caller must wait for it; the caller sleeps with its own (injectable) sleeper. Reservations are taken in call
order, so concurrent senders queue fairly instead of racing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from dispatcher_core.errors import InvalidInput

__all__ = ["ThroughputLimiter"]


class ThroughputLimiter:
    __slots__ = ("_interval", "_next_slot", "rate_per_second")

    def __init__(self, rate_per_second: float = 80.0) -> None:
        if not rate_per_second > 0:
            raise InvalidInput(f"throughput must be > 0 messages per second, got {rate_per_second}")
        self.rate_per_second = rate_per_second
        self._interval = timedelta(seconds=1 / rate_per_second)
        self._next_slot: datetime | None = None

    def reserve(self, now: datetime) -> timedelta:
        """Take the next free slot; returns how long to wait until it (zero if it is now)."""
        slot = now if self._next_slot is None or self._next_slot < now else self._next_slot
        self._next_slot = slot + self._interval
        return slot - now
