"""Prometheus metrics of the sender, on an injectable ``CollectorRegistry``.

By default they go to ``prometheus_client.REGISTRY``, the registry the app's ``GET /metrics`` exposes; tests
and embedders pass their own (a registry refuses a second metric with the same name, so build one
``WhatsAppMetrics`` per registry). Labels are bounded: Graph error codes, ``http_<status>``, ``transport``,
``timeout``; never a recipient or a message id.

=============================================  =============================================================
``whatsapp_messages_sent_total{kind}``          messages Meta accepted (``kind``: text, template)
``whatsapp_messages_failed_total{kind}``        messages given up on: certainly not sent
``whatsapp_messages_unknown_total``             sends whose answer was lost (reconciled from webhooks)
``whatsapp_errors_total{code}``                 failed requests, by Graph code (one per attempt)
``whatsapp_retries_total{code}``                retries made, by the code that caused them
``whatsapp_recipient_backoffs_total``           131056 answers (per-recipient pauses)
``whatsapp_circuit_breaker_state``              0 closed, 1 half-open, 2 open
``whatsapp_circuit_breaker_opened_total``       times the breaker opened
``whatsapp_send_duration_seconds{outcome}``     latency of one request to the Cloud API
``whatsapp_command_duration_seconds{command}``  command bus dispatch time, handler included
=============================================  =============================================================
"""

from __future__ import annotations

from typing import Any

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from dispatcher_core.messaging.circuit_breaker import BreakerState, CircuitBreaker
from dispatcher_core.messaging.commands import Command
from dispatcher_core.messaging.event_dispatcher import EventDispatcher
from dispatcher_core.messaging.events import MessageFailed, MessageSent, MessageStatusChanged
from dispatcher_core.messaging.outbound import OutboundStatus

__all__ = ["WhatsAppMetrics"]

_LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_COMMAND_BUCKETS = (0.0005, 0.001, 0.005, 0.01, 0.05, 0.25, 1.0, 5.0, 30.0)


class WhatsAppMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else prometheus_client.REGISTRY
        r = self.registry
        self.messages_sent = Counter("whatsapp_messages_sent", "Messages the Cloud API accepted", ["kind"], registry=r)
        self.messages_failed = Counter(
            "whatsapp_messages_failed", "Messages given up on (certainly not sent)", ["kind"], registry=r
        )
        self.messages_unknown = Counter(
            "whatsapp_messages_unknown",
            "Sends whose outcome is unknown (no answer; settled later by a status webhook)",
            registry=r,
        )
        self.errors = Counter("whatsapp_errors", "Failed Cloud API requests by Graph error code", ["code"], registry=r)
        self.retries = Counter("whatsapp_retries", "Retried Cloud API requests by error code", ["code"], registry=r)
        self.recipient_backoffs = Counter(
            "whatsapp_recipient_backoffs", "Per-recipient pauses after error 131056", registry=r
        )
        self.circuit_breaker_state = Gauge(
            "whatsapp_circuit_breaker_state", "Circuit breaker: 0 closed, 1 half-open, 2 open", registry=r
        )
        self.circuit_breaker_opened = Counter(
            "whatsapp_circuit_breaker_opened", "Times the circuit breaker opened", registry=r
        )
        self.send_duration = Histogram(
            "whatsapp_send_duration_seconds",
            "Latency of one Cloud API send request",
            ["outcome"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.command_duration = Histogram(
            "whatsapp_command_duration_seconds",
            "Command bus dispatch time, handler included",
            ["command"],
            buckets=_COMMAND_BUCKETS,
            registry=r,
        )
        self.circuit_breaker_state.set(BreakerState.CLOSED.value)

    def track_breaker(self, breaker: CircuitBreaker) -> None:
        """Make the gauge read the breaker's state at scrape time (so OPEN -> HALF_OPEN shows as soon as the
        timeout is over) and count openings."""
        self.circuit_breaker_state.set_function(lambda: float(breaker.state.value))

        def on_change(old: BreakerState, new: BreakerState) -> None:
            if new is BreakerState.OPEN:
                self.circuit_breaker_opened.inc()

        breaker.subscribe(on_change)

    def subscribe(self, events: EventDispatcher) -> None:
        """Count messages by outcome from the sender's events: sent (reconciled ones included), failed (given
        up, or reported failed by a webhook), unknown."""

        async def on_sent(event: MessageSent) -> None:
            self.messages_sent.labels(event.kind).inc()

        async def on_failed(event: MessageFailed) -> None:
            self.messages_failed.labels("template" if event.template_name else "text").inc()

        async def on_status(event: MessageStatusChanged) -> None:
            if event.status is OutboundStatus.UNKNOWN:
                self.messages_unknown.inc()

        events.subscribe(MessageSent, on_sent)
        events.subscribe(MessageFailed, on_failed)
        events.subscribe(MessageStatusChanged, on_status)

    def observe_command(self, command: Command[Any], seconds: float, error: BaseException | None) -> None:
        """A :data:`~dispatcher_core.messaging.command_bus.DispatchObserver` for the command bus."""
        self.command_duration.labels(type(command).__name__).observe(seconds)

    def value(self, name: str, labels: dict[str, str] | None = None) -> float:
        """The current value of one sample (tests, admin views); 0.0 if it has none yet."""
        sample = self.registry.get_sample_value(name, labels or {})
        return 0.0 if sample is None else sample
