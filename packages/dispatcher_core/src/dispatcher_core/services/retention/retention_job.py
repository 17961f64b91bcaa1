"""The retention job: once per slot across every instance (I7, the scheduler's ``SlotClaims``), delete the
conversations closed longer than ``keep`` ago, with their messages and outbound messages, in batches.

It decides nothing about live conversations: only closed ones, older than the cutoff, are touched, through
the :class:`~dispatcher_core.ports.ConversationPurge` port.
"""

from __future__ import annotations

from datetime import timedelta

from dispatcher_core.errors import InvalidInput
from dispatcher_core.ports import Clock, ConversationPurge, UnitOfWorkFactory

__all__ = ["JOB", "RetentionJob"]

JOB = "purge_closed"


class RetentionJob:
    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        purge: ConversationPurge,
        clock: Clock,
        keep: timedelta,
        interval: timedelta = timedelta(hours=1),
        batch: int = 100,
    ) -> None:
        if keep <= timedelta(0) or interval <= timedelta(0) or batch < 1:
            raise InvalidInput("retention: keep and interval must be positive, batch at least 1")
        self._uow_factory = uow_factory
        self._purge = purge
        self._clock = clock
        self.keep = keep
        self.interval = interval
        self._batch = batch

    async def run(self) -> int | None:
        """Claim this interval's slot; if won, purge everything closed before ``now - keep`` and return how
        many conversations went. ``None``: another instance has (or had) this slot."""
        now = self._clock.now()
        seconds = max(1, int(self.interval.total_seconds()))
        slot = str(int(now.timestamp()) // seconds * seconds)
        async with self._uow_factory() as uow:
            won = await uow.slots.claim(JOB, slot, now)
            await uow.commit()
        if not won:
            return None
        cutoff = now - self.keep
        total = 0
        while True:
            purged = await self._purge.purge_closed(cutoff, limit=self._batch)
            total += purged
            if purged < self._batch:
                return total
