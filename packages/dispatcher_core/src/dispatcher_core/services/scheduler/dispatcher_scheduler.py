"""Scheduled triggers (seed: ``dispatcher.scheduler.ts``): cron only, never an assignment.

Each method claims its slot first (I7: one successful run per slot across every instance) and then calls the
orchestrator. A run that fails (the store went away mid-run, say) gives its claim back before the error goes
up, so the slot runs again at the next try - on this instance or another - instead of being lost; the jobs are
idempotent (they act on what the store holds then), so a second, complete run is safe.

*When* to call these methods is the host's business (the app's background task, the
simulator's virtual clock); :meth:`next_scheduled_distribution` tells it when the next daily slot is.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeVar

from dispatcher_core.errors import DispatcherError
from dispatcher_core.orchestrator import DispatcherOrchestrator, DistributionResult, TimeoutResult
from dispatcher_core.ports import Clock, UnitOfWorkFactory
from dispatcher_core.settings import DispatcherSettings

__all__ = ["DispatcherScheduler"]

T = TypeVar("T")

RESPONSE_TIMEOUT_JOB = "check_response_timeout"
SCHEDULED_DISTRIBUTION_JOB = "scheduled_distribution"


class DispatcherScheduler:
    def __init__(
        self,
        *,
        orchestrator: DispatcherOrchestrator,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        settings: DispatcherSettings,
    ) -> None:
        self._orchestrator = orchestrator
        self._uow_factory = uow_factory
        self._clock = clock
        self._settings = settings

    async def check_response_timeout(self) -> TimeoutResult | None:
        """Every ``timeout_check_interval``: apply rules 6 and 7. ``None`` if another instance already ran
        this slot."""
        interval = int(self._settings.timeout_check_interval.total_seconds())
        slot = str(int(self._clock.now().timestamp()) // interval * interval)
        return await self._in_slot(RESPONSE_TIMEOUT_JOB, slot, self._orchestrator.handle_timeouts)

    async def scheduled_distribution(self) -> DistributionResult | None:
        """Daily at ``scheduled_distribution_time`` (local time): only calls ``distribute_pending_messages``.
        The slot is the local date, so a restarted instance does not run it twice the same day."""
        slot = self._clock.now().astimezone(self._settings.zone).date().isoformat()
        return await self._in_slot(SCHEDULED_DISTRIBUTION_JOB, slot, self._orchestrator.distribute_pending_messages)

    async def check_disconnect_grace(self) -> int:
        """Release the conversations of agents whose grace period is over (rule 4). Idempotent, so it needs
        no slot: running it on several instances at once is harmless."""
        return await self._orchestrator.release_expired_agents()

    def next_scheduled_distribution(self, after: datetime) -> datetime:
        """The first instant strictly after ``after`` at which the daily distribution is due (UTC)."""
        zone = self._settings.zone
        local = after.astimezone(zone)
        candidate = datetime.combine(local.date(), self._settings.scheduled_distribution_time, tzinfo=zone)
        while candidate <= local:
            candidate = datetime.combine(
                candidate.date() + timedelta(days=1), self._settings.scheduled_distribution_time, tzinfo=zone
            )
        return candidate.astimezone(after.tzinfo)

    async def _in_slot(self, job: str, slot: str, run: Callable[[], Awaitable[T]]) -> T | None:
        """``run()`` if this call wins the slot, ``None`` if another did; a failed run gives the slot back."""
        if not await self._claim(job, slot):
            return None
        try:
            return await run()
        except BaseException:
            # Best effort: if the store cannot take the claim back either, the slot stays spent (as if the run
            # had succeeded) and the error that matters, the run's, goes up.
            with contextlib.suppress(DispatcherError):
                await self._unclaim(job, slot)
            raise

    async def _unclaim(self, job: str, slot: str) -> None:
        async with self._uow_factory() as uow:
            if await uow.slots.unclaim(job, slot):
                await uow.commit()

    async def _claim(self, job: str, slot: str) -> bool:
        async with self._uow_factory() as uow:
            claimed = await uow.slots.claim(job, slot, self._clock.now())
            if claimed:
                await uow.commit()
            return claimed
