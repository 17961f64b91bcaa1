"""A clock that only moves when told to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dispatcher_core.errors import InvalidInput

__all__ = ["ManualClock"]


class ManualClock:
    """Implements :class:`dispatcher_core.ports.Clock`. Tests advance it instead of sleeping."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
        if self._now.tzinfo is None:
            raise InvalidInput("ManualClock needs a timezone-aware start")

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise InvalidInput("a clock never goes backwards")
        self._now += delta
        return self._now

    def set(self, instant: datetime) -> None:
        if instant < self._now:
            raise InvalidInput("a clock never goes backwards")
        self._now = instant
