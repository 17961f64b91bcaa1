"""The WhatsApp sender wired into the app (issue #6), end to end over real HTTP and WebSockets.

A real app server (uvicorn) configured with ``WHATSAPP_API_BASE_URL`` pointing at the sender's fake Graph API
(also a real HTTP server on loopback): an agent's ``reply`` frame reaches the fake as a Cloud API request,
status webhooks become ``message.status`` frames, the circuit breaker shows on ``/metrics``, failures on
``/admin/stats``. Time is a manual clock (the breaker's timeout is crossed by advancing it).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import ClientConnection

from dispatcher_adapters.whatsapp.settings import WhatsAppSettings
from dispatcher_app import create_app
from dispatcher_app.cli import main as cli_main
from dispatcher_app.commands.worker import run_worker
from dispatcher_app.config import ConfigError, load_config
from dispatcher_app.container import open_runtime
from dispatcher_app.metrics import AppMetrics
from dispatcher_app.testing import AppHarness, AppSlot, eventually, make_config, mounted, receive_json, serve
from dispatcher_app.testing import text_message_body as body_of
from dispatcher_core.messaging.outbound import OutboundMessage, OutboundStatus, TextContent
from dispatcher_core.messaging.outbox_store import UnitOfWorkOutbox
from dispatcher_core.testing import ManualClock

PHONE_NUMBER_ID = "15550001111"
CUSTOMER = "33612345678"
TOKEN = "test-access-token"


def _load_fake_graph() -> Any:
    """The sender's own fake Graph API (``packages/dispatcher_adapters/tests/whatsapp/fake_graph.py``)."""
    path = Path(__file__).parents[2] / "dispatcher_adapters" / "tests" / "whatsapp" / "fake_graph.py"
    spec = importlib.util.spec_from_file_location("dispatcher_app_tests_fake_graph", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


fake_graph_module = _load_fake_graph()


@pytest.fixture
async def fake_graph() -> AsyncIterator[Any]:
    fake = fake_graph_module.FakeGraph()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture
async def harness(fake_graph: Any) -> AsyncIterator[tuple[AppHarness, ManualClock]]:
    clock = ManualClock()
    settings = WhatsAppSettings.from_env(
        {
            "WHATSAPP_ACCESS_TOKEN": TOKEN,
            "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
            "WHATSAPP_API_BASE_URL": fake_graph.base_url,
            "WHATSAPP_RETRY_MAX_ATTEMPTS": "1",
            "WHATSAPP_CIRCUIT_BREAKER_TIMEOUT": "1",
        }
    )
    config = make_config(tick_interval=timedelta(hours=1), whatsapp=settings)
    slot = AppSlot()
    async with serve(slot) as server, mounted(slot, server, create_app(config, clock=clock), config) as h:
        yield h, clock


async def next_frame(ws: ClientConnection, expected_type: str) -> dict[str, Any]:
    """The next frame of ``expected_type``, skipping at most a few unrelated ones (queue updates...)."""
    for _ in range(20):
        frame = await receive_json(ws)
        if frame["type"] == expected_type:
            return frame
    raise AssertionError(f"no {expected_type} frame")


def status_webhook(wamid: str, status: str, reference: str | None = None) -> bytes:
    raw: dict[str, Any] = {"id": wamid, "status": status, "timestamp": "1700000000", "recipient_id": CUSTOMER}
    if reference is not None:
        raw["biz_opaque_callback_data"] = reference
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": PHONE_NUMBER_ID, "phone_number_id": PHONE_NUMBER_ID},
        "statuses": [raw],
    }
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "waba", "changes": [{"value": value, "field": "messages"}]}],
    }
    return json.dumps(body).encode()


async def breaker_state(h: AppHarness) -> float:
    text = (await h.http.get("/metrics")).text
    for family in text_string_to_metric_families(text):
        if family.name == "whatsapp_circuit_breaker_state":
            return float(family.samples[0].value)
    raise AssertionError("whatsapp_circuit_breaker_state not exposed")


async def reply(ws: ClientConnection, conversation_id: str, text: str, client_id: str) -> dict[str, Any]:
    await ws.send(
        json.dumps({"type": "reply", "conversation_id": conversation_id, "text": text, "client_id": client_id})
    )
    while True:
        frame = await receive_json(ws)
        if frame["type"] in ("reply.accepted", "error"):
            assert frame["client_id"] == client_id, frame
            return frame


async def test_reply_status_breaker_and_stats_through_the_cloud_api(
    harness: tuple[AppHarness, ManualClock], fake_graph: Any
) -> None:
    h, clock = harness
    async with h.agent("alice") as (alice, _hello):
        customer = body_of(business_number_id=PHONE_NUMBER_ID, customer_id=CUSTOMER, message_id="wamid.in.1", text="hi")
        assert (await h.post_webhook(customer)).json()["accepted"] == 1
        assigned = await next_frame(alice, "conversation.assigned")
        conversation_id = assigned["conversation_id"]

        # 1. the reply goes to the Cloud API as Meta documents it
        accepted = await reply(alice, conversation_id, "Hello, how can I help?", "c-1")
        assert accepted["type"] == "reply.accepted", accepted
        reference = accepted["message_id"]
        assert (accepted["status"], accepted["wamid"]) == ("sent", "wamid.fake.1")
        (request,) = fake_graph.requests
        assert request.path == f"/v27.0/{PHONE_NUMBER_ID}/messages"
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        assert request.body == {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": CUSTOMER,
            "biz_opaque_callback_data": reference,
            "type": "text",
            "text": {"body": "Hello, how can I help?", "preview_url": False},
        }
        # the same client_id again is not sent twice
        again = await reply(alice, conversation_id, "Hello, how can I help?", "c-1")
        assert (again["type"], again["message_id"], len(fake_graph.requests)) == ("reply.accepted", reference, 1)

        # 2. statuses reconcile the outbox and reach the agent; by wamid, then by our reference
        answer = await h.post_webhook(status_webhook("wamid.fake.1", "delivered"))
        assert answer.json()["statuses"] == 1
        status = await next_frame(alice, "message.status")
        assert (status["message_id"], status["status"], status["previous"], status["client_id"]) == (
            reference,
            "delivered",
            "sent",
            "c-1",
        )
        assert status["conversation_id"] == conversation_id
        await h.post_webhook(status_webhook("wamid.fake.1", "read", reference=reference))
        status = await next_frame(alice, "message.status")
        assert (status["message_id"], status["status"]) == (reference, "read")

        # 131047: the window is closed, the agent is told to send a template
        fake_graph.then(fake_graph_module.graph_error(131047))
        refused = await reply(alice, conversation_id, "Are you there?", "c-2")
        assert (refused["type"], refused["code"], refused["message"]) == (
            "error",
            "window_closed",
            "window closed: send a template",
        )

        await breaker_opens_and_closes(h, clock, alice, conversation_id, fake_graph)
        await stats_show_it(h)


async def breaker_opens_and_closes(
    h: AppHarness, clock: ManualClock, alice: ClientConnection, conversation_id: str, fake_graph: Any
) -> None:
    # 3. the API fails: replies are accepted and stay queued; five failures open the breaker (/metrics)
    assert await breaker_state(h) == 0
    fake_graph.fail_always(fake_graph_module.server_error(500))
    for n in range(5):
        queued = await reply(alice, conversation_id, f"attempt {n}", f"f-{n}")
        assert (queued["type"], queued["status"]) == ("reply.accepted", "queued"), queued
    assert await breaker_state(h) == 2
    sent_so_far = len(fake_graph.requests)
    while_open = await reply(alice, conversation_id, "while open", "f-open")
    assert (while_open["type"], while_open["status"]) == ("reply.accepted", "queued")
    assert len(fake_graph.requests) == sent_so_far  # an open breaker sends nothing

    # ... and recovers: the sender loop sends the queued replies once, in order; two successes close it
    fake_graph.recover()
    clock.advance(timedelta(seconds=5))
    sending = h.runtime.sending
    assert sending is not None
    sent = 0
    for _ in range(5):  # half-open lets a probe through first: the others wait for their next try
        sent += int(await sending.send_due())  # type: ignore[call-overload]  # the hook returns object
        clock.advance(timedelta(minutes=5))
    assert sent == 6
    assert await sending.send_due() == 0
    bodies = [request.body["text"]["body"] for request in fake_graph.requests[sent_so_far:]]
    assert sorted(bodies) == sorted([f"attempt {n}" for n in range(5)] + ["while open"])  # each once
    statuses = [await next_frame(alice, "message.status") for _ in range(6)]
    assert sorted(frame["client_id"] for frame in statuses) == sorted([f"f-{n}" for n in range(5)] + ["f-open"])
    assert {(frame["previous"], frame["status"]) for frame in statuses} == {("queued", "sent")}
    assert await breaker_state(h) == 0
    metrics_text = (await h.http.get("/metrics")).text
    assert 'whatsapp_errors_total{code="http_500"} 5.0' in metrics_text
    assert 'whatsapp_messages_sent_total{kind="text"} 7.0' in metrics_text
    assert "whatsapp_send_duration_seconds_bucket" in metrics_text
    assert "# TYPE whatsapp_retries_total counter" in metrics_text


async def stats_show_it(h: AppHarness) -> None:
    # 4. /admin/stats: inbound, outbound by status (the failures included), errors, templates
    stats = (await h.admin("GET", "/admin/stats")).json()
    whatsapp = stats["whatsapp"]
    assert whatsapp["configured"] is True
    assert whatsapp["messages"]["inbound"] == 1
    assert whatsapp["messages"]["outbound_by_status"] == {"read": 1, "sent": 6, "failed": 1}
    assert whatsapp["errors_by_code"] == {"131047": 1, "http_500": 5}
    assert [a["agent_id"] for a in whatsapp["agents"]] == ["alice"]
    assert whatsapp["agents"][0]["first_responses"] == 1
    assert stats["templates"] == []
    assert stats["replies"] == {"sender": "whatsapp-cloud-api"}
    # a range that holds none of it
    empty = await h.admin(
        "GET", "/admin/stats", params={"from": "2000-01-01T00:00:00+00:00", "to": "2000-01-02T00:00:00+00:00"}
    )
    assert empty.json()["whatsapp"]["messages"]["outbound"] == 0
    bad = await h.admin("GET", "/admin/stats", params={"from": "yesterday"})
    assert bad.status_code == 400


async def test_without_whatsapp_replies_stay_in_the_offline_outbox() -> None:
    config = make_config()
    slot = AppSlot()
    async with serve(slot) as server, mounted(slot, server, create_app(config), config) as h:
        stats = (await h.admin("GET", "/admin/stats")).json()
        assert stats["whatsapp"]["configured"] is False
        assert stats["templates"] == []
        assert stats["replies"]["sender"] == "recorded"
        assert "whatsapp_circuit_breaker_state" not in (await h.http.get("/metrics")).text


async def test_the_lifespan_can_run_twice_on_one_app(fake_graph: Any) -> None:
    """The sender's metrics are unregistered with it: a restarted lifespan registers a fresh sender."""
    settings = WhatsAppSettings(access_token=TOKEN, phone_number_id=PHONE_NUMBER_ID, api_base_url=fake_graph.base_url)
    config = make_config(whatsapp=settings)
    app = create_app(config)
    for _ in range(2):
        slot = AppSlot()
        async with serve(slot) as server, mounted(slot, server, app, config) as h:
            assert await breaker_state(h) == 0


def test_bad_whatsapp_variables_are_named_at_start() -> None:
    env = {
        "DISPATCHER_ADMIN_TOKEN": "admin",
        "DISPATCHER_AGENT_TOKEN_SECRET": "x" * 32,
        "WHATSAPP_APP_SECRET": "app",
        "WHATSAPP_VERIFY_TOKEN": "verify",
        "WHATSAPP_ACCESS_TOKEN": "token",
        "WHATSAPP_PHONE_NUMBER_ID": "not-a-number",
        "WHATSAPP_API_BASE_URL": "graph.facebook.com/",
        "WHATSAPP_CIRCUIT_BREAKER_TIMEOUT": "soon",
    }
    with pytest.raises(ConfigError) as raised:
        load_config(env, env_file=None)
    message = str(raised.value)
    for name in ("WHATSAPP_PHONE_NUMBER_ID", "WHATSAPP_API_BASE_URL", "WHATSAPP_CIRCUIT_BREAKER_TIMEOUT"):
        assert name in message


async def test_the_worker_sends_what_serve_queued_in_the_store(fake_graph: Any, tmp_path: Path) -> None:
    """``dispatcher worker`` on the same SQLite file, once serve has stopped (SQLite serves one process at a
    time): it recovers and sends the messages queued there (the outbox is the store's, not a process's), once
    each."""
    settings = WhatsAppSettings(access_token=TOKEN, phone_number_id=PHONE_NUMBER_ID, api_base_url=fake_graph.base_url)
    config = make_config(
        whatsapp=settings, database_url=f"sqlite+aiosqlite:///{tmp_path}/worker.sqlite3", tick_interval=timedelta(0.01)
    )
    async with open_runtime(config, AppMetrics()) as runtime:  # what a serve instance left behind
        outbox = UnitOfWorkOutbox(runtime.uow_factory)
        for n in range(3):
            await outbox.add(
                OutboundMessage.queue(
                    id=f"queued-{n}",
                    business_number_id=PHONE_NUMBER_ID,
                    to=CUSTOMER,
                    content=TextContent(f"queued {n}"),
                    now=runtime.clock.now(),
                )
            )
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(config, stop))
    try:
        await eventually(lambda: _requested(fake_graph, 3), give_up_after=20)
    finally:
        stop.set()
        await worker
    assert sorted(request.reference for request in fake_graph.requests) == ["queued-0", "queued-1", "queued-2"]
    assert await _all_sent(config)  # read once the worker let the file go


async def _requested(fake_graph: Any, count: int) -> bool:
    return len(fake_graph.requests) >= count


async def _all_sent(config: Any) -> bool:
    async with open_runtime(config, AppMetrics()) as runtime:
        outbox = UnitOfWorkOutbox(runtime.uow_factory)
        found = [await outbox.get(f"queued-{n}") for n in range(3)]
    return all(message is not None and message.status is OutboundStatus.SENT for message in found)


def test_the_worker_refuses_to_start_without_whatsapp(tmp_path: Path) -> None:
    env_file = tmp_path / "none.env"
    env_file.write_text("")
    assert cli_main(["worker", "--env-file", str(env_file)]) == 2
