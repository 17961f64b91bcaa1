"""The metrics the sender exports, and the alert rules that use them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # PyYAML ships no type hints; only safe_load is used
from prometheus_client import CollectorRegistry, generate_latest

from dispatcher_adapters.whatsapp.metrics import WhatsAppMetrics
from dispatcher_core.messaging import BreakerState, CircuitBreaker, SendTextMessage
from dispatcher_core.testing import ManualClock

ALERTS = Path(__file__).resolve().parents[4] / "docs" / "operations" / "alerts.yml"
METRIC = re.compile(r"\bwhatsapp_[a-z_]+\b")


def exported_names(registry: CollectorRegistry) -> set[str]:
    return {sample.name for family in registry.collect() for sample in family.samples}


def test_the_seeds_two_alerts_only_name_metrics_that_exist() -> None:
    rules: list[dict[str, Any]] = yaml.safe_load(ALERTS.read_text())["groups"][0]["rules"]
    assert [rule["alert"] for rule in rules] == ["WhatsAppCircuitBreakerOpen", "WhatsAppHighErrorRate"]
    assert rules[0]["expr"] == "whatsapp_circuit_breaker_state == 2"
    registry = CollectorRegistry()
    metrics = WhatsAppMetrics(registry)
    metrics.errors.labels("131047").inc()  # labelled families only export samples once used
    names = exported_names(registry)
    used = {name for rule in rules for name in METRIC.findall(rule["expr"])}
    assert used == {"whatsapp_circuit_breaker_state", "whatsapp_errors_total"}
    assert used <= names


def test_the_issue_metrics_are_exported() -> None:
    registry = CollectorRegistry()
    metrics = WhatsAppMetrics(registry)
    metrics.messages_sent.labels("text").inc()
    metrics.retries.labels("131000").inc()
    metrics.send_duration.labels("sent").observe(0.2)
    text = generate_latest(registry).decode()
    for name in (
        "whatsapp_messages_sent_total",
        "whatsapp_errors_total",
        "whatsapp_circuit_breaker_state",
        "whatsapp_send_duration_seconds_bucket",
        "whatsapp_retries_total",
    ):
        assert name in text


def test_the_gauge_follows_the_breaker_at_scrape_time() -> None:
    clock, registry = ManualClock(), CollectorRegistry()
    metrics = WhatsAppMetrics(registry)
    breaker = CircuitBreaker(clock, failure_threshold=1)
    metrics.track_breaker(breaker)
    permit = breaker.acquire()
    assert permit is not None
    breaker.record_failure(permit)
    assert registry.get_sample_value("whatsapp_circuit_breaker_state") == BreakerState.OPEN.value
    assert registry.get_sample_value("whatsapp_circuit_breaker_opened_total") == 1
    clock.advance(breaker.open_timeout)
    assert registry.get_sample_value("whatsapp_circuit_breaker_state") == BreakerState.HALF_OPEN.value


def test_command_latency_is_observed_per_command() -> None:
    registry = CollectorRegistry()
    metrics = WhatsAppMetrics(registry)
    metrics.observe_command(SendTextMessage(to="33612345678", text="hi"), 0.003, None)
    labels = {"command": "SendTextMessage"}
    assert registry.get_sample_value("whatsapp_command_duration_seconds_count", labels) == 1
    assert metrics.value("whatsapp_command_duration_seconds_sum", labels) == 0.003
