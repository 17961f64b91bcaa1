"""Where time comes from. Nothing in the core calls ``datetime.now()`` itself."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

__all__ = ["Clock"]


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware (UTC). Never goes backwards within one process."""
        ...
