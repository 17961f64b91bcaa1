"""Prometheus metrics of one app instance, on a registry of its own.

Why a registry per app: several apps in one process (tests, an embedding backend mounting the dispatcher
next to its own metrics) must not collide on prometheus-client's global registry. Gauges that describe the
shared store (pending conversations, queue size) are read from the store when ``/metrics`` is scraped, so
every instance reports the same truth; counters and the latency histogram are this instance's own.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dispatcher_core.events import ConversationAssigned, DomainEvent
from dispatcher_core.ports import EventPublisher
from dispatcher_core.types import AssignmentDecision

__all__ = ["AppMetrics", "EventListener", "LatencyMiddleware", "ObservedPublisher"]

_log = logging.getLogger(__name__)

#: Told of every domain event this instance publishes (the WhatsApp analytics' ``on_domain_event``).
EventListener = Callable[[DomainEvent], Awaitable[None]]

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class AppMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.assignments = Counter(
            "dispatcher_assignments", "Incoming messages by assignment decision.", ["decision"], registry=r
        )
        self.conversations_assigned = Counter(
            "dispatcher_conversations_assigned", "Conversations handed to an agent, by reason.", ["reason"], registry=r
        )
        self.pending_conversations = Gauge(
            "dispatcher_pending_conversations", "Open conversations waiting for an agent.", registry=r
        )
        self.pending_messages = Gauge("dispatcher_pending_messages", "Messages waiting for an agent.", registry=r)
        self.queue_size = Gauge("dispatcher_queue_size", "Agents in the round-robin queue.", registry=r)
        self.webhook_items = Counter(
            "dispatcher_webhook_items",
            "Items of WhatsApp webhook bodies, by kind (message, status, error, unknown) and outcome.",
            ["kind", "outcome"],
            registry=r,
        )
        self.events = Counter("dispatcher_events_published", "Domain events published, by type.", ["type"], registry=r)
        self.connections = Gauge(
            "dispatcher_websocket_connections", "Open WebSockets on this instance.", ["kind"], registry=r
        )
        self.request_latency = Histogram(
            "dispatcher_http_request_duration_seconds",
            "HTTP request latency, by method, route template and status code.",
            ["method", "route", "status"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.scheduled_runs = Counter(
            "dispatcher_scheduled_jobs",
            "Scheduled job slots reached by this instance: run here, or already claimed by another instance.",
            ["job", "outcome"],
            registry=r,
        )
        self.webhooks_shed = Counter(
            "dispatcher_webhooks_shed",
            "Webhook requests refused at once with 503 + Retry-After: the instance had"
            " DISPATCHER_MAX_IN_FLIGHT_WEBHOOKS requests in hand already.",
            registry=r,
        )
        self.webhooks_in_flight = Gauge(
            "dispatcher_webhooks_in_flight", "Webhook requests this instance is working on.", registry=r
        )
        self.background_errors = Counter(
            "dispatcher_background_errors", "Failures of the periodic tasks, by task.", ["task"], registry=r
        )

        # Children of the hot path, bound once: ``labels()`` costs a lock and a lookup per call.
        self.decisions = {
            decision: self.assignments.labels(decision)
            for decision in ("KEEP_CURRENT_AGENT", "ASSIGN_NEW_AGENT", "PENDING")
        }
        self.messages_accepted = self.webhook_items.labels("message", "accepted")
        self.messages_duplicate = self.webhook_items.labels("message", "duplicate")
        self.statuses_handled = self.webhook_items.labels("status", "handled")
        self._latency_children: dict[tuple[str, str, int], Any] = {}
        self._event_children: dict[str, Any] = {}

    def count_event(self, event: DomainEvent) -> None:
        child = self._event_children.get(event.type)
        if child is None:
            child = self._event_children[event.type] = self.events.labels(event.type)
        child.inc()
        if isinstance(event, ConversationAssigned):
            self.conversations_assigned.labels(event.reason).inc()

    def count_decision(self, decision: AssignmentDecision) -> None:
        self.decisions[decision.type].inc()

    def observe_latency(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        child = self._latency_children.get(key)
        if child is None:
            child = self._latency_children[key] = self.request_latency.labels(method, route, str(status))
        child.observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class ObservedPublisher:
    """An ``EventPublisher`` that counts what goes through it, then hands it to ``inner`` and to
    ``listeners`` (a list the container fills while the listeners live; a failing listener is logged and
    never stops the events)."""

    def __init__(
        self, inner: EventPublisher, metrics: AppMetrics, listeners: Sequence[EventListener] | None = None
    ) -> None:
        self._inner = inner
        self._metrics = metrics
        self._listeners = listeners if listeners is not None else ()

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        for event in events:
            self._metrics.count_event(event)
        await self._inner.publish(events)
        for listener in tuple(self._listeners):
            for event in events:
                try:
                    await listener(event)
                except Exception:  # statistics must never break the dispatcher's flow
                    _log.exception("event listener failed on %s", event.type)


class LatencyMiddleware:
    """Pure ASGI middleware timing HTTP requests, labelled with the matched route's template (so
    ``/admin/conversations/{conversation_id}`` is one series, not one per id)."""

    def __init__(self, app: ASGIApp, metrics: AppMetrics) -> None:
        self._app = app
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self._metrics.observe_latency(scope["method"], template, status, time.perf_counter() - started)
