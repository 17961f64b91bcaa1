"""Admin routes and the admin socket behind the admin token; /healthz, /readyz and /metrics."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import quote

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from dispatcher_app import create_app
from dispatcher_app.testing import AppHarness, AppSlot, RunningServer, make_config, receive_json, text_message_body
from dispatcher_core import DispatcherSettings
from dispatcher_core.testing import ManualClock

from .conftest import MakeHarness

pytestmark = pytest.mark.asyncio(loop_scope="module")

ADMIN_ROUTES = [
    ("GET", "/admin/queue"),
    ("POST", "/admin/distribute"),
    ("GET", "/admin/pending"),
    ("GET", "/admin/conversations"),
    ("GET", "/admin/conversations/some-id"),
    ("GET", "/admin/stats"),
]


async def say(h: AppHarness, customer: str, message_id: str, text: str = "hi") -> None:
    body = text_message_body(business_number_id="B", customer_id=customer, message_id=message_id, text=text)
    assert (await h.post_webhook(body)).json()["accepted"] == 1


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong", "Basic dGVzdC1hZG1pbi10b2tlbg==", "test-admin-token", "Bearer"]
)
async def test_admin_routes_refuse_a_missing_or_wrong_token(
    harness: AppHarness, method: str, path: str, authorization: str | None
) -> None:
    await say(harness, "c1", "w1")
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await harness.http.request(method, path, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "error" in response.json()
    # nothing was distributed or read on the way: the conversation is still pending
    assert len((await harness.admin("GET", "/admin/pending")).json()["conversations"]) == 1


async def test_queue_pending_distribute_and_conversations(make_harness: MakeHarness, clock: ManualClock) -> None:
    async with make_harness(dispatcher=DispatcherSettings(agent_capacity=1)) as h:
        for customer in ("c1", "c2", "c3"):
            await say(h, customer, f"w-{customer}")
            clock.advance(timedelta(seconds=1))
        pending = (await h.admin("GET", "/admin/pending")).json()
        assert [c["customer_id"] for c in pending["conversations"]] == ["c1", "c2", "c3"]  # oldest first
        assert pending["pending_messages"] == 3
        assert all(c["pending_messages"] == 1 for c in pending["conversations"])

        async with h.agent("alice"), h.agent("bob"):
            queue = (await h.admin("GET", "/admin/queue")).json()
            assert queue["capacity"] == 1
            assert [
                (a["agent_id"], a["position"], a["status"], a["active_conversations"]) for a in queue["agents"]
            ] == [
                ("alice", 1, "online", 1),
                ("bob", 2, "online", 1),
            ]
            # both agents are full: forcing a distribution assigns nothing and says so
            assert (await h.admin("POST", "/admin/distribute")).json() == {"assigned": 0, "still_pending": 1}
            listing = (await h.admin("GET", "/admin/conversations", params={"agent_id": "alice"})).json()
            assert [c["customer_id"] for c in listing["conversations"]] == ["c1"]
            pending_list = (await h.admin("GET", "/admin/conversations", params={"status": "pending"})).json()
            assert [c["customer_id"] for c in pending_list["conversations"]] == ["c3"]
            conversation_id = listing["conversations"][0]["id"]
            detail = (await h.admin("GET", f"/admin/conversations/{conversation_id}")).json()
            assert [m["external_id"] for m in detail["messages"]] == ["w-c1"]
            assert detail["messages"][0]["delivered_to"] == "alice"
            assert detail["pending"] == []
            stats = (await h.admin("GET", "/admin/stats")).json()
            assert stats["conversations"] == {
                "open": 3,
                "assigned": 2,
                "pending": 1,
                "by_agent": {"alice": 1, "bob": 1},
            }
            assert stats["assignments"]["by_decision"] == {"KEEP_CURRENT_AGENT": 0, "ASSIGN_NEW_AGENT": 0, "PENDING": 3}
            assert stats["assignments"]["by_reason"]["pending"] == 2
            assert stats["messages"]["webhook"]["accepted"] == 3
            assert stats["messages"]["pending"] == 1
            assert stats["queue"] == {"agents": 2}


@pytest.mark.parametrize(
    "params",
    [
        {"status": "archived"},
        {"limit": "0"},
        {"limit": "501"},
        {"limit": "ten"},
        {"offset": "-1"},
        {"status": "pending", "agent_id": "a"},
    ],
)
async def test_bad_query_parameters_are_400(harness: AppHarness, params: dict[str, str]) -> None:
    response = await harness.admin("GET", "/admin/conversations", params=params)
    assert response.status_code == 400
    assert response.json()["error"]


async def test_unknown_conversation_is_404(harness: AppHarness) -> None:
    response = await harness.admin("GET", "/admin/conversations/does-not-exist")
    assert response.status_code == 404


@pytest.mark.parametrize("token", ["", "wrong", "Bearer test-admin-token"])
async def test_admin_socket_refuses_a_wrong_token(harness: AppHarness, token: str) -> None:
    async with connect(f"{harness.server.ws_url}/ws/admin?token={quote(token)}") as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await receive_json(ws)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401


async def test_admin_socket_streams_every_event(harness: AppHarness) -> None:
    async with connect(f"{harness.server.ws_url}/ws/admin?token=test-admin-token") as admin:
        hello = await receive_json(admin)
        assert (hello["type"], hello["queue"]) == ("hello", [])
        await say(harness, "c1", "w1")
        pending = await receive_json(admin)
        assert (pending["type"], pending["seq"]) == ("conversation.pending", 1)
        async with harness.agent("alice"):
            frames = [await receive_json(admin) for _ in range(3)]
            assert [f["type"] for f in frames] == ["agent.status", "queue.updated", "conversation.assigned"]
            assert [f["seq"] for f in frames] == [2, 3, 4]
            assert frames[1]["positions"] == [{"agent_id": "alice", "position": 1}]
            assert frames[2]["agent_id"] == "alice"
            await admin.send(json.dumps({"type": "ping"}))
            assert (await receive_json(admin))["type"] == "pong"


async def test_health_readiness_and_metrics(harness: AppHarness) -> None:
    assert (await harness.http.get("/healthz")).json() == {"status": "ok", "started": True}
    ready = (await harness.http.get("/readyz")).json()
    assert (ready["status"], ready["checks"]) == ("ready", {"store": "ok"})
    await say(harness, "c1", "w1")
    duplicate = text_message_body(business_number_id="B", customer_id="c1", message_id="w1", text="hi")
    assert (await harness.post_webhook(duplicate)).json()["duplicates"] == 1
    await harness.post_webhook(b"[]")
    async with harness.agent("alice") as (alice, _):
        await say(harness, "c1", "w2")
        await receive_json(alice)
        metrics = (await harness.http.get("/metrics")).text
    for line in [
        'dispatcher_assignments_total{decision="PENDING"} 1.0',
        'dispatcher_assignments_total{decision="KEEP_CURRENT_AGENT"} 1.0',
        'dispatcher_webhook_items_total{kind="message",outcome="accepted"} 2.0',
        'dispatcher_webhook_items_total{kind="message",outcome="duplicate"} 1.0',
        'dispatcher_webhook_items_total{kind="unknown",outcome="ignored"} 1.0',
        "dispatcher_pending_conversations 0.0",
        "dispatcher_queue_size 1.0",
        'dispatcher_websocket_connections{kind="agent"} 1.0',
    ]:
        assert line in metrics, line
    assert (
        'dispatcher_http_request_duration_seconds_count{method="POST",route="/webhooks/whatsapp",status="200"} 4.0'
        in (metrics)
    )


async def test_routes_answer_503_when_the_app_is_not_started(slot_server: tuple[AppSlot, RunningServer]) -> None:
    """A host that mounts the app but forgets its lifespan gets a clear error, not a crash."""
    slot, server = slot_server
    slot.app = create_app(make_config())  # served without its lifespan
    try:
        async with httpx.AsyncClient(base_url=server.http_url) as http:
            response = await http.get("/admin/queue", headers={"Authorization": "Bearer test-admin-token"})
            assert response.status_code == 503
            assert "lifespan" in response.json()["error"]
            assert (await http.get("/healthz")).json() == {"status": "ok", "started": False}
    finally:
        slot.app = None
