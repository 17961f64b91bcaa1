"""Claims of scheduled-job slots, so that each slot runs successfully once across every instance (I7).

The scheduler claims a slot, runs the job, and gives the claim back with :meth:`SlotClaims.unclaim` if the
run failed, so the slot is run again (by whichever instance claims it next) instead of being lost."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

__all__ = ["SlotClaims"]


class SlotClaims(Protocol):
    async def claim(self, job: str, slot: str, at: datetime) -> bool:
        """Claim (``job``, ``slot``). ``True`` for exactly one claimer ever, across every instance and
        concurrent unit of work; ``False`` for everyone else. Takes effect at commit."""
        ...

    async def unclaim(self, job: str, slot: str) -> bool:
        """Give back a claim whose run failed: once committed, the slot can be claimed again (by exactly one
        claimer, as before). ``False`` if the slot was not claimed. Takes effect at commit."""
        ...
