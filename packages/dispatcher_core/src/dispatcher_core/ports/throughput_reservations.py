"""Throughput shared by every instance: the send slots of one business phone number (DESIGN §3, Meta's
per-number rate, 80 messages per second by default)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

__all__ = ["ThroughputReservations"]


class ThroughputReservations(Protocol):
    async def reserve(self, key: str, interval: timedelta, now: datetime) -> timedelta:
        """Take the next free send slot of ``key`` (a phone number id) and return how long the caller must wait
        for it (zero if it is now). Slots are ``interval`` apart (``1 / rate``) and shared by every caller of
        the same store, whatever its process: N instances together keep the rate. A slot that nobody used is
        not kept for later (no burst after a quiet period). ``now`` is the caller's clock: instances' clocks
        must agree to well within ``interval``. Driver failures surface as
        :class:`~dispatcher_core.errors.StoreUnavailable`."""
        ...
