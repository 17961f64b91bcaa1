"""Retry, circuit breaker, per-recipient back-off and throughput around any ``MessageSender`` (seed phase 3).

For each send, until it succeeds or is given up::

    wait while the recipient is paused (131056)  ->  ask the breaker for a permit (CircuitOpen if refused)
    ->  wait for a throughput slot  ->  one request through the inner sender
    ->  success: done | SendFailed: RetryPolicy decides (sleep, pause the recipient, or give up)
                      | SendOutcomeUnknown: raised at once, never retried

Only :class:`SendFailed` is ever retried: the request was refused or never left, so trying again cannot
duplicate the message. A retry reuses the same message, hence the same ``biz_opaque_callback_data``.

The breaker counts outages only (5xx, throttling codes, transport failures, unknown outcomes); a permanent
error or a per-recipient limit is an answer from a healthy API and counts as a success for it.
Time comes from the Clock port and every wait goes through the injectable ``sleep``, so tests drive backoff
and breaker timeouts with a manual clock and never really wait.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import assert_never

from dispatcher_adapters.whatsapp.metrics import WhatsAppMetrics
from dispatcher_adapters.whatsapp.settings import WhatsAppSettings
from dispatcher_core.errors import StoreUnavailable
from dispatcher_core.messaging.circuit_breaker import CircuitBreaker, CircuitPermit
from dispatcher_core.messaging.error_codes import ErrorClass
from dispatcher_core.messaging.errors import CircuitOpen, SendFailed, SendOutcomeUnknown
from dispatcher_core.messaging.outbound import OutboundMessage
from dispatcher_core.messaging.retry_policy import GiveUp, RecipientBackoff, RetryAfter, RetryPolicy, WaitForRecipient
from dispatcher_core.messaging.throughput import ThroughputLimiter
from dispatcher_core.ports.clock import Clock
from dispatcher_core.ports.message_sender import MessageSender, SendReceipt
from dispatcher_core.ports.throughput_reservations import ThroughputReservations

__all__ = ["ResilientSender", "Sleeper"]

_log = logging.getLogger(__name__)

#: Waits that many seconds. ``asyncio.sleep`` in production; tests pass one that advances a manual clock.
Sleeper = Callable[[float], Awaitable[None]]


class ResilientSender:
    """Implements :class:`~dispatcher_core.ports.message_sender.MessageSender` by wrapping another one."""

    def __init__(
        self,
        inner: MessageSender,
        *,
        clock: Clock,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        recipient_backoff: RecipientBackoff | None = None,
        throughput_per_second: float | None = 80.0,
        sleep: Sleeper = asyncio.sleep,
        metrics: WhatsAppMetrics | None = None,
        timer: Callable[[], float] = time.perf_counter,
        shared_throughput: ThroughputReservations | None = None,
    ) -> None:
        """``shared_throughput``: send slots shared with every other instance (Redis or PostgreSQL), so the
        number's rate holds for their sum; without it (or while it is unreachable) the rate is this process's."""
        self._shared = shared_throughput
        self._inner = inner
        self._clock = clock
        self.retry = retry or RetryPolicy()
        self.breaker = breaker
        self.recipient_backoff = recipient_backoff or RecipientBackoff(self.retry, clock)
        self._throughput = throughput_per_second
        self._limiters: dict[str, ThroughputLimiter] = {}
        self._sleep = sleep
        self._metrics = metrics
        self._timer = timer
        if metrics is not None and breaker is not None:
            metrics.track_breaker(breaker)

    @classmethod
    def from_settings(
        cls,
        inner: MessageSender,
        settings: WhatsAppSettings,
        *,
        clock: Clock,
        sleep: Sleeper = asyncio.sleep,
        metrics: WhatsAppMetrics | None = None,
        random_source: Callable[[], float] | None = None,
        shared_throughput: ThroughputReservations | None = None,
    ) -> ResilientSender:
        """The seed's settings: ``WHATSAPP_RETRY_*`` and ``WHATSAPP_CIRCUIT_BREAKER_*``."""
        retry = RetryPolicy(
            max_attempts=settings.retry_max_attempts,
            initial_delay=settings.retry_initial_delay,
            max_delay=settings.retry_max_delay,
            random_source=random_source or random.random,
        )
        breaker = None
        if settings.circuit_breaker_enabled:
            breaker = CircuitBreaker(
                clock,
                failure_threshold=settings.circuit_breaker_failure_threshold,
                open_timeout=settings.circuit_breaker_timeout,
                success_threshold=settings.circuit_breaker_success_threshold,
            )
        return cls(
            inner,
            clock=clock,
            retry=retry,
            breaker=breaker,
            throughput_per_second=settings.throughput_per_second,
            sleep=sleep,
            metrics=metrics,
            shared_throughput=shared_throughput,
        )

    async def send(self, message: OutboundMessage) -> SendReceipt:
        attempts = 0
        while True:
            await self._wait_for_recipient(message.to)
            permit = self._permit(attempts)
            try:
                await self._throttle(message.business_number_id)
            except BaseException:
                self._release(permit)
                raise
            attempts += 1
            started = self._timer()
            try:
                receipt = await self._inner.send(message)
            except SendFailed as exc:
                self._observe("failed", started, exc.error.label)
                self._record(permit, outage=exc.error_class.is_outage)
                if exc.error_class is ErrorClass.RECIPIENT_BACKOFF:
                    self.recipient_backoff.record_limited(message.to)
                    if self._metrics is not None:
                        self._metrics.recipient_backoffs.inc()
                decision = self.retry.decide(attempts, exc.error_class)
                match decision:
                    case GiveUp():
                        exc.attempts = attempts
                        raise
                    case RetryAfter(delay=delay):
                        self._count_retry(exc.error.label)
                        await self._sleep(delay.total_seconds())
                    case WaitForRecipient():
                        self._count_retry(exc.error.label)  # the wait happens at the top of the loop
                    case _:
                        assert_never(decision)
            except SendOutcomeUnknown as exc:
                self._observe("unknown", started, "timeout")
                self._record(permit, outage=True)
                exc.attempts = attempts
                raise
            except BaseException:
                self._release(permit)
                raise
            else:
                self._observe("sent", started, None)
                self._record(permit, outage=False)
                self.recipient_backoff.record_success(message.to)
                return SendReceipt(wamid=receipt.wamid, attempts=attempts)

    async def _wait_for_recipient(self, recipient: str) -> None:
        while (until := self.recipient_backoff.blocked_until(recipient)) is not None:
            await self._sleep(max((until - self._clock.now()).total_seconds(), 0.0))

    def _permit(self, attempts: int) -> CircuitPermit | None:
        if self.breaker is None:
            return None
        permit = self.breaker.acquire()
        if permit is None:
            raise CircuitOpen(self.breaker.retry_after(), attempts=attempts)
        return permit

    async def _throttle(self, business_number_id: str) -> None:
        if self._throughput is None:
            return
        if self._shared is not None:
            try:
                wait = await self._shared.reserve(
                    business_number_id, timedelta(seconds=1 / self._throughput), self._clock.now()
                )
            except StoreUnavailable:
                _log.warning("shared throughput unreachable: limiting %s in this process only", business_number_id)
            else:
                if wait > timedelta(0):
                    await self._sleep(wait.total_seconds())
                return
        limiter = self._limiters.get(business_number_id)
        if limiter is None:
            limiter = self._limiters[business_number_id] = ThroughputLimiter(self._throughput)
        wait = limiter.reserve(self._clock.now())
        if wait > timedelta(0):
            await self._sleep(wait.total_seconds())

    def _record(self, permit: CircuitPermit | None, *, outage: bool) -> None:
        if self.breaker is None or permit is None:
            return
        if outage:
            self.breaker.record_failure(permit)
        else:
            self.breaker.record_success(permit)

    def _release(self, permit: CircuitPermit | None) -> None:
        if self.breaker is not None and permit is not None:
            self.breaker.release(permit)

    def _observe(self, outcome: str, started: float, error_label: str | None) -> None:
        if self._metrics is None:
            return
        self._metrics.send_duration.labels(outcome).observe(self._timer() - started)
        if error_label is not None:
            self._metrics.errors.labels(error_label).inc()

    def _count_retry(self, label: str) -> None:
        if self._metrics is not None:
            self._metrics.retries.labels(label).inc()
