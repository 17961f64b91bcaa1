"""The circuit breaker: stop calling an API that keeps failing, try it again after a pause (seed phase 3).

::

    CLOSED --(failure_threshold consecutive failures)--> OPEN --(open_timeout elapsed)--> HALF_OPEN
       ^                                                  ^                                  |
       |                                                  +---------(any failure)------------+
       +------------------------(success_threshold successes in a row)-----------------------+

Pure logic driven by the :class:`~dispatcher_core.ports.clock.Clock` port: nothing sleeps here, and the
OPEN -> HALF_OPEN move happens when the state is next looked at after the timeout, so a test advances a
manual clock instead of waiting. While HALF_OPEN only ``success_threshold`` trial calls may be in flight at
once, so a burst of queued sends does not hit a recovering API all at the same time.

Every call takes a :class:`CircuitPermit` and reports its outcome with it. Outcomes of calls that started
before the last state change are ignored: a slow success that started while CLOSED must not close a breaker
that opened meanwhile.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from dispatcher_core.errors import InvalidInput
from dispatcher_core.ports.clock import Clock

__all__ = ["BreakerState", "CircuitBreaker", "CircuitPermit"]

#: How long a caller refused because every half-open trial slot is taken should wait before asking again.
PROBE_WAIT = timedelta(seconds=1)


class BreakerState(enum.IntEnum):
    """The value is what the ``whatsapp_circuit_breaker_state`` gauge shows."""

    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


@dataclass(frozen=True, slots=True)
class CircuitPermit:
    """Permission for one call, tied to the breaker state it was given in."""

    generation: int
    trial: bool


StateListener = Callable[[BreakerState, BreakerState], None]


class CircuitBreaker:
    """Defaults are the seed's: 5 failures to open, 60 s open, 2 successes to close."""

    def __init__(
        self,
        clock: Clock,
        *,
        failure_threshold: int = 5,
        open_timeout: timedelta = timedelta(seconds=60),
        success_threshold: int = 2,
        on_change: StateListener | None = None,
    ) -> None:
        if failure_threshold < 1:
            raise InvalidInput(f"circuit breaker failure_threshold must be >= 1, got {failure_threshold}")
        if success_threshold < 1:
            raise InvalidInput(f"circuit breaker success_threshold must be >= 1, got {success_threshold}")
        if open_timeout <= timedelta(0):
            raise InvalidInput(f"circuit breaker open_timeout must be positive, got {open_timeout}")
        self._clock = clock
        self.failure_threshold = failure_threshold
        self.open_timeout = open_timeout
        self.success_threshold = success_threshold
        self._listeners: list[StateListener] = [on_change] if on_change else []
        self._state = BreakerState.CLOSED
        self._generation = 0
        self._failures = 0
        self._successes = 0
        self._trials_in_flight = 0
        self._opened_at: datetime | None = None

    def subscribe(self, listener: StateListener) -> None:
        """Call ``listener(old, new)`` on every state change (metrics, logs)."""
        self._listeners.append(listener)

    @property
    def state(self) -> BreakerState:
        self._refresh()
        return self._state

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def retry_after(self) -> timedelta:
        """How long until a call may be allowed: the rest of the open period, or a short wait when every
        trial slot of the half-open state is taken, or zero."""
        self._refresh()
        if self._state is BreakerState.OPEN and self._opened_at is not None:
            return max(self._opened_at + self.open_timeout - self._clock.now(), timedelta(0))
        if self._state is BreakerState.HALF_OPEN and self._trials_in_flight >= self.success_threshold:
            return PROBE_WAIT
        return timedelta(0)

    def acquire(self) -> CircuitPermit | None:
        """A permit for one call, or ``None`` if the breaker refuses it now (see :meth:`retry_after`)."""
        self._refresh()
        match self._state:
            case BreakerState.CLOSED:
                return CircuitPermit(self._generation, trial=False)
            case BreakerState.HALF_OPEN:
                if self._trials_in_flight >= self.success_threshold:
                    return None
                self._trials_in_flight += 1
                return CircuitPermit(self._generation, trial=True)
            case BreakerState.OPEN:
                return None

    def record_success(self, permit: CircuitPermit) -> None:
        if not self._current(permit):
            return
        if self._state is BreakerState.CLOSED:
            self._failures = 0
            return
        self._trials_in_flight -= 1
        self._successes += 1
        if self._successes >= self.success_threshold:
            self._move(BreakerState.CLOSED)

    def record_failure(self, permit: CircuitPermit) -> None:
        if not self._current(permit):
            return
        if self._state is BreakerState.CLOSED:
            self._failures += 1
            if self._failures >= self.failure_threshold:
                self._move(BreakerState.OPEN)
            return
        self._move(BreakerState.OPEN)

    def release(self, permit: CircuitPermit) -> None:
        """The call ended without an outcome worth counting (cancelled, or an error that says nothing about
        the API's health): give its trial slot back."""
        if self._current(permit) and permit.trial:
            self._trials_in_flight -= 1

    def _current(self, permit: CircuitPermit) -> bool:
        self._refresh()
        return permit.generation == self._generation

    def _refresh(self) -> None:
        if (
            self._state is BreakerState.OPEN
            and self._opened_at is not None
            and self._clock.now() >= self._opened_at + self.open_timeout
        ):
            self._move(BreakerState.HALF_OPEN)

    def _move(self, new: BreakerState) -> None:
        old = self._state
        self._state = new
        self._generation += 1
        self._failures = 0
        self._successes = 0
        self._trials_in_flight = 0
        self._opened_at = self._clock.now() if new is BreakerState.OPEN else None
        for listener in tuple(self._listeners):
            listener(old, new)
