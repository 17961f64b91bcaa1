"""Error classification (docs/whatsapp-sender.md), backoff with jitter, per-recipient back-off and throughput
spacing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dispatcher_core.errors import InvalidInput
from dispatcher_core.messaging import (
    ErrorClass,
    GiveUp,
    GraphError,
    RecipientBackoff,
    RetryAfter,
    RetryPolicy,
    ThroughputLimiter,
    WaitForRecipient,
    agent_message,
    classify,
)
from dispatcher_core.testing import ManualClock

RETRYABLE = [1, 2, 4, 17, 613, 80007, 130429, 131000, 131016, 131057, 133004]
NEVER_AS_IS = [100, 131026, 131047, 131050, 131051, 132000, 132001, 133010, 190]


@pytest.mark.parametrize("code", RETRYABLE)
def test_retryable_codes(code: int) -> None:
    assert classify(code, 400) is ErrorClass.RETRYABLE


@pytest.mark.parametrize("code", NEVER_AS_IS)
def test_codes_never_retried_as_is(code: int) -> None:
    assert classify(code, 400) is ErrorClass.PERMANENT
    assert classify(code, 500) is ErrorClass.PERMANENT  # the code wins over the HTTP status


def test_pair_rate_limit_backs_off_per_recipient() -> None:
    assert classify(131056, 400) is ErrorClass.RECIPIENT_BACKOFF
    assert not ErrorClass.RECIPIENT_BACKOFF.is_outage
    assert ErrorClass.RETRYABLE.is_outage
    assert not ErrorClass.PERMANENT.is_outage


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        (None, 500, ErrorClass.RETRYABLE),
        (None, 503, ErrorClass.RETRYABLE),
        (None, 429, ErrorClass.RETRYABLE),
        (None, 400, ErrorClass.PERMANENT),
        (None, None, ErrorClass.RETRYABLE),  # never reached the API
        (999999, 400, ErrorClass.PERMANENT),
        (999999, 502, ErrorClass.RETRYABLE),
    ],
)
def test_unlisted_errors_fall_back_on_the_http_status(
    code: int | None, status: int | None, expected: ErrorClass
) -> None:
    assert classify(code, status) is expected


def test_what_the_agent_is_told() -> None:
    assert agent_message(GraphError(131047, 400, "Re-engagement message")) == "window closed: send a template"
    assert agent_message(GraphError(None, 503, "down")) == "WhatsApp is unavailable right now: try again later"
    assert agent_message(GraphError(132001, 404, "Template does not exist")) == (
        "message refused by WhatsApp: Template does not exist"
    )
    assert GraphError(None, 502, "x").label == "http_502"
    assert GraphError(None, None, "x").label == "transport"
    assert GraphError(131000, 500, "x").label == "131000"


def test_seed_defaults_and_exponential_backoff_capped_at_max() -> None:
    policy = RetryPolicy(max_attempts=6, jitter=0.0)
    assert [policy.backoff(n) for n in range(1, 6)] == [
        timedelta(seconds=1),
        timedelta(seconds=2),
        timedelta(seconds=4),
        timedelta(seconds=8),
        timedelta(seconds=10),
    ]
    default = RetryPolicy()
    assert (default.max_attempts, default.initial_delay, default.max_delay) == (
        3,
        timedelta(milliseconds=1000),
        timedelta(milliseconds=10000),
    )


def test_jitter_shortens_each_delay_by_a_random_fraction() -> None:
    draws = iter([0.0, 0.999, 0.5])
    policy = RetryPolicy(jitter=0.5, random_source=lambda: next(draws))
    assert policy.delay(1) == timedelta(seconds=1)
    assert policy.delay(2) == timedelta(seconds=2) * (1 - 0.5 * 0.999)
    assert policy.delay(3) == timedelta(seconds=3)


def test_decisions() -> None:
    policy = RetryPolicy(max_attempts=3, jitter=0.0)
    assert policy.decide(1, ErrorClass.RETRYABLE) == RetryAfter(timedelta(seconds=1))
    assert policy.decide(2, ErrorClass.RETRYABLE) == RetryAfter(timedelta(seconds=2))
    assert policy.decide(3, ErrorClass.RETRYABLE) == GiveUp("attempts_exhausted")
    assert policy.decide(1, ErrorClass.PERMANENT) == GiveUp("permanent")
    assert policy.decide(1, ErrorClass.RECIPIENT_BACKOFF) == WaitForRecipient()
    assert policy.decide(3, ErrorClass.RECIPIENT_BACKOFF) == GiveUp("attempts_exhausted")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_attempts": 0}, "max_attempts must be >= 1"),
        ({"initial_delay": timedelta(0)}, "initial_delay must be positive"),
        ({"max_delay": timedelta(milliseconds=10)}, "max_delay"),
        ({"jitter": 1.0}, "jitter must be in"),
        ({"multiplier": 0.5}, "multiplier must be >= 1"),
    ],
)
def test_bad_policies_are_refused(options: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        RetryPolicy(**options)  # type: ignore[arg-type]  # the parametrized values are right per key


def test_recipient_backoff_doubles_per_hit_and_clears_on_success() -> None:
    clock = ManualClock()
    backoff = RecipientBackoff(RetryPolicy(jitter=0.0), clock)
    start = clock.now()
    assert backoff.blocked_until("a") is None
    assert backoff.record_limited("a") == start + timedelta(seconds=1)
    assert backoff.blocked_until("a") == start + timedelta(seconds=1)
    assert backoff.blocked_until("b") is None
    assert backoff.record_limited("a") == start + timedelta(seconds=2)
    clock.advance(timedelta(seconds=2))
    assert backoff.blocked_until("a") is None
    backoff.record_success("a")
    assert backoff.record_limited("a") == clock.now() + timedelta(seconds=1)


def test_recipient_backoff_memory_is_bounded() -> None:
    clock = ManualClock()
    backoff = RecipientBackoff(RetryPolicy(jitter=0.0), clock, max_tracked=10)
    for index in range(10):
        backoff.record_limited(f"old{index}")
    clock.advance(timedelta(minutes=5))
    backoff.record_limited("new")
    assert len(backoff) == 1


def test_throughput_spaces_reservations_by_one_over_the_rate() -> None:
    clock = ManualClock()
    limiter = ThroughputLimiter(80)
    waits = [limiter.reserve(clock.now()) for _ in range(161)]
    assert waits[0] == timedelta(0)
    assert waits[80] == timedelta(seconds=1)
    assert waits[160] == timedelta(seconds=2)
    clock.advance(timedelta(seconds=10))
    assert limiter.reserve(clock.now()) == timedelta(0)
    with pytest.raises(InvalidInput, match="throughput must be > 0"):
        ThroughputLimiter(0)
