"""How long to wait before trying a failed send again, and whether to try at all (seed phase 3).

Pure: the policy decides, the sender sleeps. Delays grow exponentially from ``initial_delay`` and are capped
at ``max_delay``; each one is then shortened by a random fraction (up to ``jitter``) so that many senders
failing together do not retry in lockstep. The random source is injectable, which makes delays exact in
tests. ``max_attempts`` counts every request, the first one included: 3 means one try and two retries.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, assert_never

from dispatcher_core.errors import InvalidInput
from dispatcher_core.messaging.error_codes import ErrorClass
from dispatcher_core.ports.clock import Clock

__all__ = ["GiveUp", "RecipientBackoff", "RetryAfter", "RetryDecision", "RetryPolicy", "WaitForRecipient"]


@dataclass(frozen=True, slots=True)
class RetryAfter:
    """Try again after ``delay``."""

    delay: timedelta
    type: Literal["retry_after"] = "retry_after"


@dataclass(frozen=True, slots=True)
class WaitForRecipient:
    """Try again once this recipient's back-off is over (131056); other recipients are not slowed down."""

    type: Literal["wait_for_recipient"] = "wait_for_recipient"


@dataclass(frozen=True, slots=True)
class GiveUp:
    reason: Literal["permanent", "attempts_exhausted"]
    type: Literal["give_up"] = "give_up"


RetryDecision = RetryAfter | WaitForRecipient | GiveUp


class RetryPolicy:
    """Defaults are the seed's: 3 attempts, 1000 ms initial delay, 10000 ms maximum delay."""

    __slots__ = ("_random", "initial_delay", "jitter", "max_attempts", "max_delay", "multiplier")

    def __init__(
        self,
        *,
        max_attempts: int = 3,
        initial_delay: timedelta = timedelta(milliseconds=1000),
        max_delay: timedelta = timedelta(milliseconds=10000),
        multiplier: float = 2.0,
        jitter: float = 0.5,
        random_source: Callable[[], float] = random.random,
    ) -> None:
        if max_attempts < 1:
            raise InvalidInput(f"retry max_attempts must be >= 1, got {max_attempts}")
        if initial_delay <= timedelta(0):
            raise InvalidInput(f"retry initial_delay must be positive, got {initial_delay}")
        if max_delay < initial_delay:
            raise InvalidInput(f"retry max_delay ({max_delay}) must be >= initial_delay ({initial_delay})")
        if multiplier < 1:
            raise InvalidInput(f"retry multiplier must be >= 1, got {multiplier}")
        if not 0 <= jitter < 1:
            raise InvalidInput(f"retry jitter must be in [0, 1), got {jitter}")
        self.max_attempts = max_attempts
        self.initial_delay = initial_delay
        self.max_delay = max_delay
        self.multiplier = multiplier
        self.jitter = jitter
        self._random = random_source

    def backoff(self, attempt: int) -> timedelta:
        """The delay after the ``attempt``-th failure, before jitter: initial x multiplier^(attempt-1), capped."""
        if attempt < 1:
            raise InvalidInput(f"attempt numbers start at 1, got {attempt}")
        seconds = self.initial_delay.total_seconds() * self.multiplier ** min(attempt - 1, 64)
        return min(timedelta(seconds=seconds), self.max_delay)

    def delay(self, attempt: int) -> timedelta:
        """:meth:`backoff` shortened by a random fraction in [0, jitter): within ((1 - jitter) x base, base]."""
        base = self.backoff(attempt)
        return base * (1 - self.jitter * self._random())

    def decide(self, attempt: int, error_class: ErrorClass) -> RetryDecision:
        """After the ``attempt``-th request failed with an error of ``error_class``: try again, or not."""
        match error_class:
            case ErrorClass.PERMANENT:
                return GiveUp("permanent")
            case ErrorClass.RETRYABLE:
                if attempt >= self.max_attempts:
                    return GiveUp("attempts_exhausted")
                return RetryAfter(self.delay(attempt))
            case ErrorClass.RECIPIENT_BACKOFF:
                if attempt >= self.max_attempts:
                    return GiveUp("attempts_exhausted")
                return WaitForRecipient()
            case _:
                assert_never(error_class)


class RecipientBackoff:
    """Per-recipient pauses after Graph error 131056 ("too many messages to this customer").

    Each consecutive hit on the same recipient doubles the pause (the policy's :meth:`RetryPolicy.delay`);
    a success clears it. Only recipients hit recently are remembered, so memory stays bounded.
    """

    __slots__ = ("_clock", "_entries", "_max_tracked", "_policy")

    def __init__(self, policy: RetryPolicy, clock: Clock, *, max_tracked: int = 10_000) -> None:
        self._policy = policy
        self._clock = clock
        self._max_tracked = max_tracked
        self._entries: dict[str, tuple[int, datetime]] = {}

    def blocked_until(self, recipient: str) -> datetime | None:
        """When sending to ``recipient`` is allowed again, or ``None`` if it is allowed now."""
        entry = self._entries.get(recipient)
        if entry is None or entry[1] <= self._clock.now():
            return None
        return entry[1]

    def record_limited(self, recipient: str) -> datetime:
        """``recipient`` was rate limited: pause it, longer each time in a row. Returns the end of the pause."""
        now = self._clock.now()
        hits = self._entries.get(recipient, (0, now))[0] + 1
        until = now + self._policy.delay(hits)
        self._entries[recipient] = (hits, until)
        if len(self._entries) > self._max_tracked:
            self._forget_before(now - self._policy.max_delay)
        return until

    def record_success(self, recipient: str) -> None:
        self._entries.pop(recipient, None)

    def _forget_before(self, horizon: datetime) -> None:
        for recipient in [key for key, (_, until) in self._entries.items() if until < horizon]:
            del self._entries[recipient]

    def __len__(self) -> int:
        return len(self._entries)
