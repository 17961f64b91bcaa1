"""The real clock."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["SystemClock"]


class SystemClock:
    """Wall-clock UTC time, implementing :class:`dispatcher_core.ports.Clock`."""

    __slots__ = ()

    def now(self) -> datetime:
        return datetime.now(UTC)
