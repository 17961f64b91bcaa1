"""The ``BulkSendTemplate`` handler: one template to many recipients, in the background.

``handle`` persists one ``queued`` outbox message per recipient *before* anything is sent (a crash drops
none: :meth:`OutboxDelivery.recover` resumes them), starts a background task and returns a
:class:`BulkJob` at once. The task runs ``concurrency`` workers; the per-number throughput (80 msg/s by
default) is enforced by the :class:`~.resilient_sender.ResilientSender` every send goes through, so replies
and bulk sends share the number's budget. While the circuit breaker is open the workers put their message
back and wait for it to let a trial through, instead of failing the rest of the campaign in a few
milliseconds.

Progress is kept in this process (``progress``); the outbox, where every message carries the job id as
``bulk_id``, stays the durable truth.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from dispatcher_adapters.whatsapp.delivery import OutboxDelivery, settle
from dispatcher_adapters.whatsapp.resilient_sender import Sleeper
from dispatcher_core.errors import InvalidInput
from dispatcher_core.messaging.command_bus import CommandBus
from dispatcher_core.messaging.commands import BulkJob, BulkProgress, BulkSendTemplate
from dispatcher_core.messaging.errors import BulkJobNotFound, CircuitOpen
from dispatcher_core.messaging.outbound import OutboundMessage, OutboundStatus
from dispatcher_core.ports.clock import Clock

__all__ = ["BulkSender"]

_log = logging.getLogger(__name__)
#: Shortest pause while the breaker is open, so a zero ``retry_after`` never makes a busy loop.
_MIN_PAUSE = timedelta(seconds=1)
_SENT = (OutboundStatus.SENT, OutboundStatus.DELIVERED, OutboundStatus.READ)
_CANCELLED = "bulk send cancelled"


@dataclass
class _Job:
    id: str
    total: int
    started_at: datetime
    pending: list[OutboundMessage]
    outcomes: Counter[OutboundStatus] = field(default_factory=Counter)
    failures_by_code: Counter[str] = field(default_factory=Counter)
    finished_at: datetime | None = None
    cancelled: bool = False
    task: asyncio.Task[None] | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def progress(self) -> BulkProgress:
        settled = sum(self.outcomes.values())
        sent = sum(
            self.outcomes[status] for status in (OutboundStatus.SENT, OutboundStatus.DELIVERED, OutboundStatus.READ)
        )
        return BulkProgress(
            job_id=self.id,
            total=self.total,
            queued=self.total - settled,
            sent=sent,
            failed=self.outcomes[OutboundStatus.FAILED],
            unknown=self.outcomes[OutboundStatus.UNKNOWN],
            started_at=self.started_at,
            finished_at=self.finished_at,
            cancelled=self.cancelled,
            failures_by_code=dict(self.failures_by_code),
        )


class BulkSender:
    def __init__(
        self,
        delivery: OutboxDelivery,
        *,
        clock: Clock,
        concurrency: int = 8,
        sleep: Sleeper = asyncio.sleep,
        keep_finished: int = 100,
    ) -> None:
        """``keep_finished``: how many finished jobs keep their progress in memory (oldest forgotten first)."""
        if concurrency < 1:
            raise InvalidInput(f"bulk concurrency must be >= 1, got {concurrency}")
        self._keep_finished = keep_finished
        self._delivery = delivery
        self._clock = clock
        self._concurrency = concurrency
        self._sleep = sleep
        self._jobs: dict[str, _Job] = {}

    def register(self, bus: CommandBus) -> None:
        bus.register(BulkSendTemplate, self.handle)

    async def handle(self, command: BulkSendTemplate) -> BulkJob:
        await self._delivery.check_template(command.template)
        now = self._clock.now()
        job_id = self._delivery.new_id()
        number = command.business_number_id or self._delivery.default_number_id
        messages = [
            OutboundMessage.queue(
                id=self._delivery.new_id(),
                business_number_id=number,
                to=recipient,
                content=command.template,
                now=now,
                bulk_id=job_id,
            )
            for recipient in command.recipients
        ]
        stored = [await self._delivery.outbox.add(message) for message in messages]
        self._forget_finished()
        job = _Job(id=job_id, total=len(stored), started_at=now, pending=list(reversed(stored)))
        self._jobs[job_id] = job
        job.task = asyncio.create_task(self._run(job), name=f"bulk-send-{job_id}")
        return BulkJob(id=job_id, total=job.total)

    def progress(self, job_id: str) -> BulkProgress:
        return self._job(job_id).progress()

    def jobs(self) -> list[BulkProgress]:
        return [job.progress() for job in self._jobs.values()]

    async def wait(self, job_id: str) -> BulkProgress:
        """Wait for the job to finish (or be cancelled) and return its final progress."""
        job = self._job(job_id)
        if job.task is not None:
            await asyncio.wait({job.task})
        return job.progress()

    async def cancel(self, job_id: str) -> BulkProgress:
        """Stop the job: sends in flight finish normally, the messages not yet attempted are marked failed
        ("bulk send cancelled") and are never sent later. Returns the final progress."""
        job = self._job(job_id)
        if job.task is not None and not job.task.done():
            job.cancelled = True
            job.stop.set()
            await asyncio.wait({job.task})
        return job.progress()

    async def aclose(self) -> None:
        """Stop every running job (the app's shutdown). Unsent messages stay ``queued`` in the outbox and are
        resumed by recovery on the next start."""
        tasks = [job.task for job in self._jobs.values() if job.task is not None and not job.task.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    def _forget_finished(self) -> None:
        finished = [job_id for job_id, job in self._jobs.items() if job.finished_at is not None]
        for job_id in finished[: max(len(finished) - self._keep_finished, 0)]:
            del self._jobs[job_id]

    def _job(self, job_id: str) -> _Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise BulkJobNotFound(f"no bulk job {job_id}")
        return job

    async def _run(self, job: _Job) -> None:
        workers = [asyncio.create_task(self._worker(job)) for _ in range(min(self._concurrency, job.total))]
        try:
            await asyncio.gather(*workers)
            if job.cancelled:
                await self._cancel_rest(job)
        except asyncio.CancelledError:
            # The app is shutting down: stop at once. A message whose request was under way stays
            # ``sending`` (recovery makes it ``unknown``); the others stay ``queued`` for recovery.
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            raise
        finally:
            job.finished_at = self._clock.now()

    async def _worker(self, job: _Job) -> None:
        while job.pending and not job.cancelled:
            message = job.pending.pop()
            result: OutboundMessage | None
            while True:
                try:
                    result = await self._delivery.deliver(message, requeue_if_circuit_open=True)
                except CircuitOpen as exc:
                    # Put back as queued by deliver(); wait for the breaker to let a trial through.
                    if not await self._pause(job, max(exc.retry_after, _MIN_PAUSE)):
                        job.pending.append(message)  # cancelled while paused: cancel() settles it
                        return
                    fresh = await self._delivery.outbox.get(message.id)
                    if fresh is None or fresh.status is not OutboundStatus.QUEUED:
                        result = fresh  # recovery on another instance took it meanwhile
                        break
                    message = fresh
                    continue
                except Exception:
                    _log.exception("bulk job %s: message %s could not be handled", job.id, message.id)
                    job.outcomes[OutboundStatus.FAILED] += 1
                    job.failures_by_code["internal"] += 1
                    result = None
                break
            if result is not None:
                self._count(job, result)

    async def _pause(self, job: _Job, delay: timedelta) -> bool:
        """Sleep ``delay``; ``False`` if the job was cancelled meanwhile (the sleep is cut short)."""
        sleeping = asyncio.ensure_future(self._sleep(delay.total_seconds()))
        stopping = asyncio.ensure_future(job.stop.wait())
        try:
            await asyncio.wait({sleeping, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in (sleeping, stopping):
                waiter.cancel()
            await asyncio.gather(sleeping, stopping, return_exceptions=True)
        return not job.stop.is_set()

    @staticmethod
    def _count(job: _Job, result: OutboundMessage, reason: str | None = None) -> None:
        job.outcomes[result.status] += 1
        if result.status is OutboundStatus.FAILED:
            code = str(result.error_code) if result.error_code is not None else "no_code"
            job.failures_by_code[reason or code] += 1

    async def _cancel_rest(self, job: _Job) -> None:
        now = self._clock.now()
        while job.pending:
            message = job.pending.pop()
            before, after = await settle(self._delivery.outbox, message, lambda m: m.cancel(now, _CANCELLED))
            self._count(job, after, "cancelled" if before.status is OutboundStatus.QUEUED else None)
