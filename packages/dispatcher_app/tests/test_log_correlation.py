"""JSON log lines and one correlation id from the webhook through the decision to the agent's frame."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from dispatcher_app.logs import CorrelationFilter, JsonFormatter, RedactSecrets
from dispatcher_app.testing import AppHarness, receive_json, signed_webhook_headers, text_message_body

pytestmark = pytest.mark.asyncio(loop_scope="module")

BUSINESS = "15550001111"


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """Every record of the process at DEBUG, as the JSON lines ``DISPATCHER_LOG_FORMAT=json`` writes."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactSecrets())
    handler.addFilter(CorrelationFilter())
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


def parsed(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


async def test_webhook_decision_and_frame_share_the_request_id(harness: AppHarness, json_lines: io.StringIO) -> None:
    async with harness.agent("alice") as (ws, _hello):
        body = text_message_body(business_number_id=BUSINESS, customer_id="c1", message_id="wamid.corr", text="hi")
        headers = {**signed_webhook_headers(body, harness.config.whatsapp_app_secret), "X-Request-ID": "req-42"}
        response = await harness.http.post("/webhooks/whatsapp", content=body, headers=headers)
        assert response.status_code == 200
        assert response.headers["x-request-id"] == "req-42"
        frame = await receive_json(ws)
        assert frame["type"] == "conversation.assigned"

    lines = [line for line in parsed(json_lines) if line.get("correlation_id") == "req-42"]
    messages = [line["message"] for line in lines]
    decision = [m for m in messages if m.startswith("message wamid.corr: ASSIGN_NEW_AGENT")]
    assert decision, messages
    assert any(m.startswith("frame conversation.assigned seq ") and m.endswith("of agent alice") for m in messages)
    assert {line["logger"] for line in lines} >= {
        "dispatcher_core.orchestrator.dispatcher_orchestrator",
        "dispatcher_app.ws.router",
    }
    assert all(set(line) >= {"ts", "level", "logger", "message"} for line in parsed(json_lines))


async def test_a_request_without_an_id_gets_one_and_a_hostile_id_is_replaced(harness: AppHarness) -> None:
    fresh = await harness.http.get("/healthz")
    assert len(fresh.headers["x-request-id"]) == 32
    hostile = await harness.http.get("/healthz", headers={"X-Request-ID": 'x" injected\\n{"level":"error"}'})
    assert hostile.headers["x-request-id"] != 'x" injected\\n{"level":"error"}'
    assert len(hostile.headers["x-request-id"]) == 32
