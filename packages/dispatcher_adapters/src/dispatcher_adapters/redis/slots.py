"""Scheduled-slot claims on Redis (I7): set-if-absent with an expiry.

``claim`` takes the slot at once with a *tentative* value (SET NX with a short expiry) so exactly one
claimer ever gets ``True``; the commit turns it into a lasting claim (the slot TTL, 7 days by default) after
checking it still holds the tentative value; a rollback deletes it. ``unclaim`` (a run that failed) deletes a
lasting claim at commit, if it still holds the value it read. A claimer finding another unit of
work's tentative claim waits for it to be committed (``False``) or released or expired (then it claims):
the behaviour of a unique row a concurrent transaction inserted. A process that dies between claim and
commit leaves a tentative claim that expires, so its slot can still run.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime

from dispatcher_adapters.redis.errors import guarded
from dispatcher_adapters.redis.plan import CONFLICT, SLOT, CommitPlan
from dispatcher_adapters.redis.session import Session
from dispatcher_core.errors import StoreError

__all__ = ["RedisSlotClaims"]

_log = logging.getLogger(__name__)

_TENTATIVE = "tentative:"
_CLAIMED = "claimed:"


class RedisSlotClaims:
    def __init__(self, session: Session) -> None:
        self._ctx = session.ctx
        self._keys = session.ctx.keys
        self._token = _TENTATIVE + uuid.uuid4().hex
        self._claimed: dict[tuple[str, str], datetime] = {}
        self._unclaimed: dict[tuple[str, str], str] = {}

    async def claim(self, job: str, slot: str, at: datetime) -> bool:
        if (job, slot) in self._claimed:
            return False
        key = self._keys.slot(job, slot)
        ttl_ms = max(1, int(self._ctx.claim_ttl.total_seconds() * 1000))
        delay = 0.001
        while True:
            holder = await guarded(self._ctx.scripts.claim(keys=[key], args=[self._token, ttl_ms]))
            if holder in ("claimed", self._token):  # ours: also when a resend follows a lost reply
                self._claimed[(job, slot)] = at
                return True
            if holder == "":
                continue  # released or expired between our two commands: try again
            if not holder.startswith(_TENTATIVE):
                return False  # claimed for good
            # Another unit of work claimed and has not committed yet: its outcome decides ours.
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)

    async def unclaim(self, job: str, slot: str) -> bool:
        key = self._keys.slot(job, slot)
        if (job, slot) in self._claimed:  # claimed by this very unit of work: give the tentative claim back
            del self._claimed[(job, slot)]
            await guarded(self._ctx.scripts.release(keys=[key], args=[self._token]))
            return True
        if (job, slot) in self._unclaimed:
            return False
        value = await guarded(self._ctx.client.get(key))
        if value is None or not str(value).startswith(_CLAIMED):
            return False
        self._unclaimed[(job, slot)] = str(value)
        return True

    def stage(self, plan: CommitPlan) -> None:
        for (job, slot), value in self._unclaimed.items():
            key = self._keys.slot(job, slot)
            plan.check("get", CONFLICT, f"slot {job} {slot}", key, value)
            plan.write("DEL", key)
        seconds = max(1, int(self._ctx.slot_ttl.total_seconds()))
        for (job, slot), at in self._claimed.items():
            key = self._keys.slot(job, slot)
            plan.check("get", SLOT, f"{job} {slot}", key, self._token)
            plan.write("SET", key, _CLAIMED + at.isoformat(), "EX", seconds)

    def committed(self) -> None:
        self._claimed.clear()
        self._unclaimed.clear()

    async def release(self) -> None:
        """Give back the tentative claims of a unit of work that did not commit. Best effort: if Redis cannot
        be reached, the claims expire by themselves after ``claim_ttl`` (and a rollback must not hide the
        error that caused it)."""
        claimed, self._claimed = list(self._claimed), {}
        self._unclaimed.clear()
        for job, slot in claimed:
            try:
                await guarded(self._ctx.scripts.release(keys=[self._keys.slot(job, slot)], args=[self._token]))
            except StoreError:
                _log.warning("could not release the claim of %s %s; it expires by itself", job, slot)
