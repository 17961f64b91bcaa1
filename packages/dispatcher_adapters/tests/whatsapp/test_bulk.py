"""Bulk template sends: persisted first, run in the background with bounded concurrency and within the
number's throughput, paused (not failed) while the breaker is open, cancellable, with progress."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest

from dispatcher_adapters.memory.outbox import MemoryOutbox
from dispatcher_adapters.whatsapp.bulk import BulkSender
from dispatcher_adapters.whatsapp.delivery import OutboxDelivery
from dispatcher_adapters.whatsapp.resilient_sender import ResilientSender
from dispatcher_core.errors import InvalidInput
from dispatcher_core.messaging import (
    BodyComponent,
    BulkJobNotFound,
    BulkSendTemplate,
    CircuitBreaker,
    CommandBus,
    ErrorClass,
    EventDispatcher,
    GraphError,
    OutboundStatus,
    RetryPolicy,
    SendFailed,
    TemplateMessage,
)
from dispatcher_core.ports.message_sender import MessageSender
from dispatcher_core.testing import ManualClock

from .conftest import PHONE_NUMBER_ID
from .support import RecordingSender, ScriptedSender, VirtualTimeSleeper

TEMPLATE = TemplateMessage("promo", "en_US", body=BodyComponent(parameters=("Ana",)))


def recipients(count: int) -> tuple[str, ...]:
    return tuple(f"3361{n:07d}" for n in range(count))


@dataclass
class Bulk:
    outbox: MemoryOutbox
    bus: CommandBus
    bulk: BulkSender
    sleeper: VirtualTimeSleeper
    delivery: OutboxDelivery


def make(
    clock: ManualClock,
    inner: MessageSender,
    *,
    concurrency: int,
    resilient: ResilientSender | None = None,
    sleeper: VirtualTimeSleeper | None = None,
    bulk_sleep: Callable[[float], Awaitable[None]] | None = None,
) -> Bulk:
    sleeper = sleeper or VirtualTimeSleeper(clock)
    sender = resilient or ResilientSender(inner, clock=clock, throughput_per_second=20, sleep=sleeper)
    outbox = MemoryOutbox()
    delivery = OutboxDelivery(
        outbox=outbox, sender=sender, events=EventDispatcher(), clock=clock, default_number_id=PHONE_NUMBER_ID
    )
    bus = CommandBus()
    delivery.register(bus)
    bulk = BulkSender(delivery, clock=clock, concurrency=concurrency, sleep=bulk_sleep or sleeper)
    bulk.register(bus)
    return Bulk(outbox, bus, bulk, sleeper, delivery)


async def test_a_bulk_send_runs_in_the_background_within_concurrency_and_throughput(clock: ManualClock) -> None:
    inner = RecordingSender(clock)
    setup = make(clock, inner, concurrency=4)
    job = await setup.bus.dispatch(BulkSendTemplate(recipients=recipients(100), template=TEMPLATE))

    # Returned at once, everything already persisted and nothing attempted yet.
    assert job.total == 100
    assert len(setup.outbox) == 100
    assert inner.sent == []
    progress = setup.bulk.progress(job.id)
    assert (progress.queued, progress.sent, progress.done) == (100, 0, False)

    final = await setup.bulk.wait(job.id)
    assert (final.sent, final.failed, final.unknown, final.queued, final.done) == (100, 0, 0, 0, True)
    sent_to = Counter(message.to for _, message in inner.sent)
    assert sent_to == Counter(recipients(100))  # everyone once, nobody twice
    assert inner.max_in_flight <= 4
    times = sorted(at for at, _ in inner.sent)
    for index, start in enumerate(times):
        assert len([at for at in times[index:] if at < start + timedelta(seconds=1)]) <= 20
    assert times[-1] - times[0] >= timedelta(seconds=99 / 20)
    stored = await setup.outbox.list_by_status(OutboundStatus.SENT, limit=1000)
    assert {message.bulk_id for message in stored} == {job.id}
    assert setup.bulk.jobs() == [final]


async def test_an_open_breaker_pauses_the_campaign_instead_of_failing_it(clock: ManualClock) -> None:
    inner = ScriptedSender()
    outage = GraphError(None, 503, "Service Unavailable")
    inner.then(SendFailed(outage, ErrorClass.RETRYABLE), SendFailed(outage, ErrorClass.RETRYABLE))
    sleeper = VirtualTimeSleeper(clock)
    breaker = CircuitBreaker(clock, failure_threshold=2, open_timeout=timedelta(seconds=30), success_threshold=1)
    retry = RetryPolicy(max_attempts=3, jitter=0.0)
    resilient = ResilientSender(inner, clock=clock, retry=retry, breaker=breaker, sleep=sleeper)
    setup = make(clock, inner, concurrency=1, resilient=resilient, sleeper=sleeper)

    job = await setup.bus.dispatch(BulkSendTemplate(recipients=recipients(5), template=TEMPLATE))
    final = await setup.bulk.wait(job.id)
    assert (final.sent, final.failed) == (5, 0)
    # Two failures opened it, 2 s of retry backoff went by, then the campaign waited out the other 28 s.
    assert sleeper.waits[:3] == [1.0, 2.0, 28.0]
    successes = inner.calls[2:]
    assert Counter(message.to for message in successes) == Counter(recipients(5))


async def test_cancel_stops_the_campaign_and_nothing_unsent_goes_out_later(clock: ManualClock) -> None:
    inner = RecordingSender(clock)
    setup = make(clock, inner, concurrency=2)
    job = await setup.bus.dispatch(BulkSendTemplate(recipients=recipients(40), template=TEMPLATE))
    await inner.wait_for(5)
    progress = await setup.bulk.cancel(job.id)
    assert progress.cancelled
    assert progress.done
    sent_count = len(inner.sent)
    assert progress.sent == sent_count  # the sends in flight finished
    assert progress.failed == 40 - sent_count
    assert progress.failures_by_code == {"cancelled": 40 - sent_count}
    assert await setup.outbox.list_by_status(OutboundStatus.QUEUED) == []
    assert await setup.outbox.list_by_status(OutboundStatus.SENDING) == []
    cancelled = await setup.outbox.list_by_status(OutboundStatus.FAILED, limit=100)
    assert {message.error_title for message in cancelled} == {"bulk send cancelled"}
    await asyncio.sleep(0)
    assert len(inner.sent) == sent_count


async def test_closing_leaves_unsent_messages_queued_for_recovery(clock: ManualClock) -> None:
    inner = RecordingSender(clock)
    setup = make(clock, inner, concurrency=1)
    await setup.bus.dispatch(BulkSendTemplate(recipients=recipients(10), template=TEMPLATE))
    await inner.wait_for(2)
    await setup.bulk.aclose()
    queued = await setup.outbox.list_by_status(OutboundStatus.QUEUED)
    assert len(queued) >= 10 - len(inner.sent) - 1
    assert {message.to for message in queued}.isdisjoint({message.to for _, message in inner.sent})


async def test_unknown_jobs_are_reported() -> None:
    bulk = make(ManualClock(), RecordingSender(ManualClock()), concurrency=1).bulk
    with pytest.raises(BulkJobNotFound):
        bulk.progress("nope")


async def test_cancel_while_paused_on_an_open_breaker_settles_every_message(clock: ManualClock) -> None:
    async def forever(seconds: float) -> None:
        await asyncio.Event().wait()

    inner = ScriptedSender()
    inner.then(SendFailed(GraphError(None, 503, "down"), ErrorClass.RETRYABLE))
    breaker = CircuitBreaker(clock, failure_threshold=1, open_timeout=timedelta(minutes=5))
    resilient = ResilientSender(
        inner,
        clock=clock,
        retry=RetryPolicy(max_attempts=1),
        breaker=breaker,
        throughput_per_second=None,
        sleep=forever,
    )
    setup = make(clock, inner, concurrency=2, resilient=resilient, bulk_sleep=forever)
    job = await setup.bulk.handle(BulkSendTemplate(recipients=recipients(5), template=TEMPLATE))
    await inner.wait_for(1)
    for _ in range(50):  # let the workers reach their pause; cancel() must settle them wherever they are
        await asyncio.sleep(0)
    progress = await setup.bulk.cancel(job.id)
    assert (progress.sent, progress.failed, progress.queued) == (0, 5, 0)
    assert progress.failures_by_code == {"no_code": 1, "cancelled": 4}
    assert len(inner.calls) == 1
    assert await setup.outbox.list_by_status(OutboundStatus.QUEUED) == []


async def test_only_the_latest_finished_jobs_are_remembered(clock: ManualClock) -> None:
    setup = make(clock, RecordingSender(clock), concurrency=1)
    bulk = BulkSender(setup.delivery, clock=clock, keep_finished=2)
    jobs = []
    for index in range(4):
        job = await bulk.handle(BulkSendTemplate(recipients=(f"3362{index:07d}",), template=TEMPLATE))
        await bulk.wait(job.id)
        jobs.append(job.id)
    await bulk.handle(BulkSendTemplate(recipients=("33630000000",), template=TEMPLATE))
    await bulk.aclose()
    assert [progress.job_id for progress in bulk.jobs()][:2] == jobs[2:]
    with pytest.raises(BulkJobNotFound):
        bulk.progress(jobs[0])
    with pytest.raises(InvalidInput, match="bulk concurrency must be >= 1"):
        BulkSender(setup.delivery, clock=clock, concurrency=0)
