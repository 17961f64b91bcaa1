"""The app's background loop: *when* to call the scheduler, and the presence heartbeat.

The core's :class:`~dispatcher_core.DispatcherScheduler` says what each job does and claims its slot so it
runs once across every instance (I7); this loop only decides when to call it. It wakes every
``tick_interval`` (real time) and, by the :class:`~dispatcher_core.ports.Clock`, runs what is due:

* every tick: release agents whose disconnect grace is over (rule 4; idempotent, no slot needed);
* every ``presence_ttl / 3``: heartbeat this instance and reconcile presence (:mod:`dispatcher_app.presence`);
* every ``DISPATCHER_TIMEOUT_CHECK_INTERVAL``: ``check_response_timeout`` (the current slot at start-up, so
  a slot missed while every instance was down still runs);
* daily at ``DISPATCHER_SCHEDULED_DISTRIBUTION_TIME`` in ``DISPATCHER_TIMEZONE``: ``scheduled_distribution``;
* every ``retention_interval`` (an hour), with ``DISPATCHER_RETENTION_DAYS`` set: the retention job
  (:class:`~dispatcher_core.services.retention.RetentionJob`: once per slot across instances, closed
  conversations older than the retention are purged with their messages and outbound messages);
* with WhatsApp sending configured, every tick: the sender loop (``OutboxDelivery.send_due``: queued
  messages whose time has come are claimed and sent, on every instance; a claim is a compare-and-set, so
  each message is sent by one of them), and every ``recovery_interval`` (5 minutes): the outbox recovery
  (``OutboxDelivery.recover``: stuck sends become ``unknown``, stale queued ones are sent); the lifespan also
  runs it once at start-up (:meth:`BackgroundRunner.recover_outbox`).

Due times come from the clock, so tests drive it with a manual clock and :meth:`BackgroundRunner.tick`
instead of waiting. A failing job is logged and counted; the loop keeps going (the store may come back). A
failed slot job gave its slot back (the core's scheduler does): it is tried again ``_SLOT_RETRY`` later.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from dispatcher_app.metrics import AppMetrics
from dispatcher_app.presence import InstancePresence
from dispatcher_core import DispatcherScheduler
from dispatcher_core.ports import Clock

__all__ = ["BackgroundRunner"]

_log = logging.getLogger(__name__)
_SLOT_JOBS = frozenset({"check_response_timeout", "scheduled_distribution", "purge_closed"})
#: How soon a failed slot job is tried again (its slot was given back, so this or another instance runs it).
_SLOT_RETRY = timedelta(seconds=30)


class BackgroundRunner:
    def __init__(
        self,
        *,
        scheduler: DispatcherScheduler,
        presence: InstancePresence,
        clock: Clock,
        timeout_check_interval: timedelta,
        tick_interval: timedelta,
        metrics: AppMetrics,
        recover: Callable[[], Awaitable[object]] | None = None,
        recovery_interval: timedelta = timedelta(minutes=5),
        send_due: Callable[[], Awaitable[object]] | None = None,
        retention: Callable[[], Awaitable[object]] | None = None,
        retention_interval: timedelta = timedelta(hours=1),
    ) -> None:
        self._send_due = send_due
        self._retention = retention
        self._retention_interval = retention_interval
        self._next_retention = clock.now()
        self._scheduler = scheduler
        self._presence = presence
        self._clock = clock
        self._timeout_interval = timeout_check_interval
        self._tick_interval = tick_interval
        self._metrics = metrics
        now = clock.now()
        self._next_presence = now
        self._next_timeout_check = now
        self._next_distribution = scheduler.next_scheduled_distribution(now)
        self._recover = recover
        self._recovery_interval = recovery_interval
        self._next_recovery = now + recovery_interval
        self._lock = asyncio.Lock()

    @property
    def next_scheduled_distribution(self) -> datetime:
        return self._next_distribution

    async def tick(self) -> None:
        """Run whatever is due now. Ticks never overlap (a slow one delays the next)."""
        async with self._lock:
            now = self._clock.now()
            if now >= self._next_presence:
                self._next_presence = now + self._presence.interval
                await self._guard("heartbeat", self._presence.heartbeat)
                await self._guard("presence", self._presence.reconcile)
            await self._guard("grace", self._scheduler.check_disconnect_grace)
            if now >= self._next_timeout_check:
                self._next_timeout_check = self._slot_end(now)
                if not await self._guard("check_response_timeout", self._scheduler.check_response_timeout):
                    self._next_timeout_check = min(self._next_timeout_check, now + _SLOT_RETRY)
            if now >= self._next_distribution:
                self._next_distribution = self._scheduler.next_scheduled_distribution(now)
                if not await self._guard("scheduled_distribution", self._scheduler.scheduled_distribution):
                    self._next_distribution = now + _SLOT_RETRY
            if self._recover is not None and now >= self._next_recovery:
                self._next_recovery = now + self._recovery_interval
                await self._guard("outbox_recovery", self._recover)
            if self._send_due is not None:
                await self._guard("outbox_send", self._send_due)
            if self._retention is not None and now >= self._next_retention:
                self._next_retention = now + self._retention_interval
                await self._guard("purge_closed", self._retention)

    async def recover_outbox(self) -> None:
        """The outbox recovery now (start-up); a failure is logged and counted, the next run is periodic."""
        if self._recover is not None:
            async with self._lock:
                await self._guard("outbox_recovery", self._recover)

    async def run(self) -> None:
        """Tick forever (cancelled by the lifespan on shutdown)."""
        while True:
            await asyncio.sleep(self._tick_interval.total_seconds())
            await self.tick()

    def _slot_end(self, now: datetime) -> datetime:
        """The start of the next timeout-check slot (slots are aligned on the Unix epoch, like the
        scheduler's claims)."""
        interval = max(1, int(self._timeout_interval.total_seconds()))
        start = int(now.timestamp()) // interval * interval
        return datetime.fromtimestamp(start + interval, now.tzinfo)

    async def _guard(self, task: str, job: Callable[[], Awaitable[object]]) -> bool:
        """Run one job; ``False`` if it failed. A slot job that returns ``None`` was run by another instance
        (its slot was claimed)."""
        try:
            result = await job()
        except Exception:  # a background job must never kill the loop; it is retried at its next due time
            self._metrics.background_errors.labels(task).inc()
            _log.exception("background task %s failed", task)
            return False
        if task in _SLOT_JOBS:
            self._metrics.scheduled_runs.labels(task, "ran" if result is not None else "claimed_elsewhere").inc()
        return True
