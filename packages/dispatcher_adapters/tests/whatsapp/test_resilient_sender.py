"""Retry, circuit breaker and per-recipient back-off against the fake Graph API over real HTTP.

Time is a manual clock and every wait goes through a fake sleeper that advances it, so the tests check the
exact delays that were asked for and never really wait.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry

from dispatcher_adapters.memory import MemoryThroughput
from dispatcher_adapters.whatsapp.cloud_api import CloudApiSender
from dispatcher_adapters.whatsapp.metrics import WhatsAppMetrics
from dispatcher_adapters.whatsapp.resilient_sender import ResilientSender
from dispatcher_adapters.whatsapp.settings import WhatsAppSettings
from dispatcher_core.messaging import (
    CircuitOpen,
    OutboundMessage,
    SendFailed,
    SendOutcomeUnknown,
    TextContent,
    WindowClosed,
)
from dispatcher_core.testing import ManualClock

from .conftest import PHONE_NUMBER_ID
from .fake_graph import FakeGraph, graph_error, hang, server_error
from .support import FakeSleeper, RecordingSender, VirtualTimeSleeper

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)

Build = Callable[..., ResilientSender]


def message(reference: str, to: str = "33612345678") -> OutboundMessage:
    return OutboundMessage.queue(
        id=reference, business_number_id=PHONE_NUMBER_ID, to=to, content=TextContent("hello"), now=T0
    )


@pytest.fixture
async def build(
    settings: WhatsAppSettings, clock: ManualClock, sleeper: FakeSleeper, registry: CollectorRegistry
) -> AsyncIterator[Build]:
    """Builds the sender the app would build from settings (overrides allowed), jitter off."""
    apis: list[CloudApiSender] = []

    def make(**overrides: object) -> ResilientSender:
        configured = dataclasses.replace(settings, **overrides)  # type: ignore[arg-type]  # test overrides
        api = CloudApiSender.from_settings(configured)
        apis.append(api)
        metrics = WhatsAppMetrics(registry)
        return ResilientSender.from_settings(
            api, configured, clock=clock, sleep=sleeper, metrics=metrics, random_source=lambda: 0.0
        )

    yield make
    for api in apis:
        await api.aclose()


def gauge(registry: CollectorRegistry) -> float | None:
    return registry.get_sample_value("whatsapp_circuit_breaker_state")


async def test_retries_happen_exactly_as_configured(
    build: Build, fake_graph: FakeGraph, sleeper: FakeSleeper, registry: CollectorRegistry
) -> None:
    sender = build()
    fake_graph.then(server_error(503), graph_error(131000, 500))
    receipt = await sender.send(message("ref-1"))
    assert receipt.attempts == 3
    assert len(fake_graph.requests) == 3
    assert {request.reference for request in fake_graph.requests} == {"ref-1"}
    assert fake_graph.requests[0].body == fake_graph.requests[2].body
    assert sleeper.waits == [1.0, 2.0]  # WHATSAPP_RETRY_INITIAL_DELAY, then doubled
    assert registry.get_sample_value("whatsapp_retries_total", {"code": "http_503"}) == 1
    assert registry.get_sample_value("whatsapp_retries_total", {"code": "131000"}) == 1
    assert registry.get_sample_value("whatsapp_errors_total", {"code": "http_503"}) == 1
    assert registry.get_sample_value("whatsapp_send_duration_seconds_count", {"outcome": "sent"}) == 1


async def test_custom_attempts_and_delays_cap_at_the_maximum(
    build: Build, fake_graph: FakeGraph, sleeper: FakeSleeper
) -> None:
    sender = build(
        retry_max_attempts=5,
        retry_initial_delay=timedelta(milliseconds=200),
        retry_max_delay=timedelta(milliseconds=500),
        circuit_breaker_failure_threshold=10,
    )
    fake_graph.fail_always(server_error(500))
    with pytest.raises(SendFailed) as caught:
        await sender.send(message("ref-1"))
    assert caught.value.attempts == 5
    assert len(fake_graph.requests) == 5
    assert sleeper.waits == [0.2, 0.4, 0.5, 0.5]


async def test_errors_that_retrying_cannot_fix_are_not_retried(
    build: Build, fake_graph: FakeGraph, sleeper: FakeSleeper, registry: CollectorRegistry
) -> None:
    sender = build()
    fake_graph.then(graph_error(131047))
    with pytest.raises(WindowClosed) as caught:
        await sender.send(message("ref-1"))
    assert caught.value.attempts == 1
    assert len(fake_graph.requests) == 1
    assert sleeper.waits == []
    assert registry.get_sample_value("whatsapp_errors_total", {"code": "131047"}) == 1
    assert gauge(registry) == 0  # a refusal is an answer from a healthy API


async def test_an_unknown_outcome_is_never_retried(
    build: Build, fake_graph: FakeGraph, sleeper: FakeSleeper, registry: CollectorRegistry
) -> None:
    sender = build()
    fake_graph.then(hang())
    with pytest.raises(SendOutcomeUnknown) as caught:
        await sender.send(message("ref-1"))
    assert caught.value.attempts == 1
    assert len(fake_graph.requests) == 1
    assert sleeper.waits == []
    assert registry.get_sample_value("whatsapp_errors_total", {"code": "timeout"}) == 1
    assert sender.breaker is not None
    assert sender.breaker.consecutive_failures == 1


async def test_breaker_opens_after_5_failures_half_opens_after_60_s_and_closes_after_2_successes(
    build: Build, fake_graph: FakeGraph, clock: ManualClock, registry: CollectorRegistry
) -> None:
    sender = build()
    assert gauge(registry) == 0
    fake_graph.fail_always(server_error(500))
    with pytest.raises(SendFailed):
        await sender.send(message("ref-1"))  # 3 failed attempts
    assert gauge(registry) == 0
    with pytest.raises(CircuitOpen) as caught:
        await sender.send(message("ref-2"))  # 2 more: the 5th opens it, the 6th is refused
    assert caught.value.attempts == 2
    assert len(fake_graph.requests) == 5
    assert gauge(registry) == 2
    assert registry.get_sample_value("whatsapp_circuit_breaker_opened_total") == 1

    with pytest.raises(CircuitOpen) as caught:
        await sender.send(message("ref-3"))
    assert caught.value.attempts == 0
    assert len(fake_graph.requests) == 5  # nothing reaches the API while open

    fake_graph.recover()
    assert sender.breaker is not None
    clock.advance(sender.breaker.retry_after() - timedelta(seconds=1))
    assert gauge(registry) == 2
    clock.advance(timedelta(seconds=1))
    assert gauge(registry) == 1
    await sender.send(message("ref-4"))
    assert gauge(registry) == 1
    await sender.send(message("ref-5"))
    assert gauge(registry) == 0
    assert [request.reference for request in fake_graph.requests[5:]] == ["ref-4", "ref-5"]


async def test_a_failure_while_half_open_reopens_the_breaker(
    build: Build, fake_graph: FakeGraph, clock: ManualClock, registry: CollectorRegistry
) -> None:
    sender = build(circuit_breaker_failure_threshold=1, retry_max_attempts=1)
    fake_graph.fail_always(server_error(500))
    with pytest.raises(SendFailed):
        await sender.send(message("ref-1"))
    assert gauge(registry) == 2
    clock.advance(timedelta(seconds=60))
    assert gauge(registry) == 1
    with pytest.raises(SendFailed):
        await sender.send(message("ref-2"))
    assert gauge(registry) == 2
    assert len(fake_graph.requests) == 2


async def test_pair_rate_limit_pauses_only_that_recipient(
    build: Build, fake_graph: FakeGraph, sleeper: FakeSleeper, clock: ManualClock, registry: CollectorRegistry
) -> None:
    sender = build()
    fake_graph.then(graph_error(131056), graph_error(131056), graph_error(131056))
    with pytest.raises(SendFailed) as caught:
        await sender.send(message("ref-a1", to="33600000001"))
    assert caught.value.attempts == 3

    def backoffs() -> list[float]:
        return [wait for wait in sleeper.waits if wait >= 0.5]  # leaves out the throughput spacing

    assert backoffs() == [1.0, 2.0]  # waited for the recipient's back-off between attempts
    assert registry.get_sample_value("whatsapp_recipient_backoffs_total") == 3
    assert gauge(registry) == 0  # about one customer, not the service

    await sender.send(message("ref-b", to="33600000002"))
    assert backoffs() == [1.0, 2.0]  # another recipient goes at once

    paused_until = sender.recipient_backoff.blocked_until("33600000001")
    assert paused_until is not None
    await sender.send(message("ref-a2", to="33600000001"))
    assert clock.now() >= paused_until  # the first recipient waited for the end of its third pause (4 s)
    assert len(backoffs()) == 3
    assert [request.reference for request in fake_graph.requests] == ["ref-a1"] * 3 + ["ref-b", "ref-a2"]


async def test_a_disabled_breaker_never_refuses(
    build: Build, fake_graph: FakeGraph, registry: CollectorRegistry
) -> None:
    sender = build(circuit_breaker_enabled=False, retry_max_attempts=1)
    fake_graph.fail_always(server_error(500))
    for index in range(7):
        with pytest.raises(SendFailed):
            await sender.send(message(f"ref-{index}"))
    assert len(fake_graph.requests) == 7
    assert gauge(registry) == 0


async def test_sends_are_spaced_to_the_numbers_throughput(clock: ManualClock) -> None:
    inner = RecordingSender(clock)
    sender = ResilientSender(inner, clock=clock, throughput_per_second=10, sleep=VirtualTimeSleeper(clock))
    await asyncio.gather(*(sender.send(message(f"ref-{i}", to=f"3360000{i:04d}")) for i in range(35)))
    times = sorted(at for at, _ in inner.sent)
    assert len(times) == 35
    for index, start in enumerate(times):
        in_window = [at for at in times[index:] if at < start + timedelta(seconds=1)]
        assert len(in_window) <= 10
    assert times[-1] - times[0] >= timedelta(seconds=3.4)


async def test_two_instances_sharing_the_slots_keep_the_rate_together(clock: ManualClock) -> None:
    """Two senders (two instances) on one shared reservation store: 10/s holds for their sum."""
    shared = MemoryThroughput()
    inner = RecordingSender(clock)
    sleeper = VirtualTimeSleeper(clock)
    instances = [
        ResilientSender(inner, clock=clock, throughput_per_second=10, sleep=sleeper, shared_throughput=shared)
        for _ in range(2)
    ]
    await asyncio.gather(*(instances[i % 2].send(message(f"ref-{i}", to=f"3360000{i:04d}")) for i in range(30)))
    times = sorted(at for at, _ in inner.sent)
    for index, start in enumerate(times):
        assert len([at for at in times[index:] if at < start + timedelta(seconds=1)]) <= 10
    assert times[-1] - times[0] >= timedelta(seconds=2.9)
