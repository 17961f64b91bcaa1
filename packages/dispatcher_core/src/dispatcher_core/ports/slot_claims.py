"""Claims of scheduled-job slots, so that each slot runs once across every instance (I7)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

__all__ = ["SlotClaims"]


class SlotClaims(Protocol):
    async def claim(self, job: str, slot: str, at: datetime) -> bool:
        """Claim (``job``, ``slot``). ``True`` for exactly one claimer ever, across every instance and
        concurrent unit of work; ``False`` for everyone else. Takes effect at commit."""
        ...
