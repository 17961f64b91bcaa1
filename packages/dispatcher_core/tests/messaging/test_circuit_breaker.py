"""The circuit breaker's states, driven by a manual clock, plus a state machine against a tiny model."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from dispatcher_core.errors import InvalidInput
from dispatcher_core.messaging import BreakerState, CircuitBreaker, CircuitPermit
from dispatcher_core.testing import ManualClock


def state_of(breaker: CircuitBreaker) -> BreakerState:
    """Read through a function so the type checker does not narrow a property across clock moves."""
    return breaker.state


def fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        permit = breaker.acquire()
        assert permit is not None
        breaker.record_failure(permit)


def succeed(breaker: CircuitBreaker) -> None:
    permit = breaker.acquire()
    assert permit is not None
    breaker.record_success(permit)


def test_seed_defaults_open_after_5_failures_then_half_open_after_60_s_then_close_after_2_successes() -> None:
    clock = ManualClock()
    changes: list[tuple[BreakerState, BreakerState]] = []
    breaker = CircuitBreaker(clock, on_change=lambda old, new: changes.append((old, new)))
    fail(breaker, 4)
    assert state_of(breaker) is BreakerState.CLOSED
    fail(breaker, 1)
    assert state_of(breaker) is BreakerState.OPEN
    assert breaker.acquire() is None
    assert breaker.retry_after() == timedelta(seconds=60)

    clock.advance(timedelta(seconds=59))
    assert state_of(breaker) is BreakerState.OPEN
    assert breaker.retry_after() == timedelta(seconds=1)
    clock.advance(timedelta(seconds=1))
    assert state_of(breaker) is BreakerState.HALF_OPEN
    succeed(breaker)
    assert state_of(breaker) is BreakerState.HALF_OPEN
    succeed(breaker)
    assert state_of(breaker) is BreakerState.CLOSED
    assert changes == [
        (BreakerState.CLOSED, BreakerState.OPEN),
        (BreakerState.OPEN, BreakerState.HALF_OPEN),
        (BreakerState.HALF_OPEN, BreakerState.CLOSED),
    ]
    assert [state.value for state in BreakerState] == [0, 1, 2]


def test_a_success_resets_the_consecutive_failures() -> None:
    breaker = CircuitBreaker(ManualClock())
    fail(breaker, 4)
    succeed(breaker)
    fail(breaker, 4)
    assert state_of(breaker) is BreakerState.CLOSED
    assert breaker.consecutive_failures == 4


def test_a_failure_while_half_open_reopens_for_a_full_timeout() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker(clock, failure_threshold=2, open_timeout=timedelta(seconds=10))
    fail(breaker, 2)
    clock.advance(timedelta(seconds=10))
    succeed(breaker)
    fail(breaker, 1)
    assert state_of(breaker) is BreakerState.OPEN
    assert breaker.retry_after() == timedelta(seconds=10)


def test_half_open_lets_only_success_threshold_trials_in_flight() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker(clock, failure_threshold=1, success_threshold=2)
    fail(breaker, 1)
    clock.advance(timedelta(seconds=60))
    first, second = breaker.acquire(), breaker.acquire()
    assert first is not None
    assert second is not None
    assert breaker.acquire() is None
    assert breaker.retry_after() == timedelta(seconds=1)
    breaker.release(first)
    third = breaker.acquire()
    assert third is not None
    breaker.record_success(second)
    breaker.record_success(third)
    assert state_of(breaker) is BreakerState.CLOSED


def test_outcomes_of_calls_started_before_a_state_change_are_ignored() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker(clock, failure_threshold=1, success_threshold=1)
    slow = breaker.acquire()
    assert slow is not None
    fail(breaker, 1)
    clock.advance(timedelta(seconds=60))
    assert state_of(breaker) is BreakerState.HALF_OPEN
    breaker.record_success(slow)  # started while closed: says nothing about the recovered API
    assert state_of(breaker) is BreakerState.HALF_OPEN
    breaker.record_failure(slow)
    assert state_of(breaker) is BreakerState.HALF_OPEN


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"failure_threshold": 0}, "failure_threshold must be >= 1"),
        ({"success_threshold": 0}, "success_threshold must be >= 1"),
        ({"open_timeout": timedelta(0)}, "open_timeout must be positive"),
    ],
)
def test_bad_settings_are_refused(options: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        CircuitBreaker(ManualClock(), **options)  # type: ignore[arg-type]  # the parametrized values are right per key


class BreakerMachine(RuleBasedStateMachine):
    """Random interleavings of calls, outcomes and time against a small model of the three states."""

    FAILURES, TIMEOUT, SUCCESSES = 3, timedelta(seconds=30), 2

    @initialize()
    def start(self) -> None:
        self.clock = ManualClock()
        self.breaker = CircuitBreaker(
            self.clock, failure_threshold=self.FAILURES, open_timeout=self.TIMEOUT, success_threshold=self.SUCCESSES
        )
        self.permits: list[CircuitPermit] = []
        self.model = "closed"
        self.generation = 0
        self.failures = self.successes = self.trials = 0
        self.opened_at = self.clock.now()

    def _model_refresh(self) -> None:
        if self.model == "open" and self.clock.now() >= self.opened_at + self.TIMEOUT:
            self._model_move("half_open")

    def _model_move(self, state: str) -> None:
        self.model, self.generation = state, self.generation + 1
        self.failures = self.successes = self.trials = 0
        self.opened_at = self.clock.now()

    @rule()
    def acquire(self) -> None:
        self._model_refresh()
        permit = self.breaker.acquire()
        allowed = self.model == "closed" or (self.model == "half_open" and self.trials < self.SUCCESSES)
        assert (permit is not None) == allowed
        if permit is not None:
            if self.model == "half_open":
                self.trials += 1
            self.permits.append(permit)

    @precondition(lambda self: self.permits)
    @rule(data=st.data(), success=st.booleans())
    def finish(self, data: st.DataObject, success: bool) -> None:
        permit = self.permits.pop(data.draw(st.integers(0, len(self.permits) - 1)))
        self._model_refresh()
        current = permit.generation == self.generation
        if success:
            self.breaker.record_success(permit)
            if current and self.model == "closed":
                self.failures = 0
            elif current and self.model == "half_open":
                self.trials -= 1
                self.successes += 1
                if self.successes >= self.SUCCESSES:
                    self._model_move("closed")
        else:
            self.breaker.record_failure(permit)
            if current and self.model == "closed":
                self.failures += 1
                if self.failures >= self.FAILURES:
                    self._model_move("open")
            elif current and self.model == "half_open":
                self._model_move("open")

    @rule(seconds=st.integers(0, 40))
    def advance(self, seconds: int) -> None:
        self.clock.advance(timedelta(seconds=seconds))

    @invariant()
    def same_state_as_the_model(self) -> None:
        if not hasattr(self, "breaker"):
            return
        self._model_refresh()
        expected = {"closed": BreakerState.CLOSED, "open": BreakerState.OPEN, "half_open": BreakerState.HALF_OPEN}
        assert state_of(self.breaker) is expected[self.model]


TestBreakerMachine = BreakerMachine.TestCase
TestBreakerMachine.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
