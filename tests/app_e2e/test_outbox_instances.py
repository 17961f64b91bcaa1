"""The outbox across real processes (DESIGN I9): two `dispatcher serve` on PostgreSQL + Redis sending through
a fake Cloud API served by this test.

* a status webhook posted to instance B reaches the agent connected to instance A (``message.status``);
* instance A is SIGKILLed with two replies queued (the API was down) and one request in flight (the API never
  answers it); once the API is back: the queued replies are sent exactly once (by B, or by A after its
  restart), the in-flight one is never sent again but becomes ``unknown`` once its lease is over, and a status
  webhook carrying its reference settles it; the conversation's history shows every reply with its status,
  the same on both instances.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from websockets.asyncio.client import ClientConnection, connect

from dispatcher_app import mint_agent_token
from dispatcher_app.testing import eventually, receive_json, signed_webhook_headers, status_body, text_message_body

from .conftest import clean_environment, free_port, running_servers

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

NUMBER = "15550001111"
CUSTOMER = "33612345678"
SECRETS = {
    "DISPATCHER_ADMIN_TOKEN": "outbox-admin",
    "DISPATCHER_AGENT_TOKEN_SECRET": "outbox-agent-secret-0123456789abcdef0123",
    "WHATSAPP_APP_SECRET": "outbox-app-secret",
    "WHATSAPP_VERIFY_TOKEN": "outbox-verify",
}
ADMIN = {"Authorization": "Bearer outbox-admin"}


class CloudApi:
    """Answers like the Cloud API; ``down`` answers 503; a text starting with ``hang`` is never answered."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.sent: Counter[str] = Counter()
        self.down = False
        self._ids = itertools.count(1)
        self._stop = asyncio.Event()

    async def messages(self, request: Request) -> Response:
        body = await request.json()
        self.bodies.append(body)
        if body.get("text", {}).get("body", "").startswith("hang"):
            await self._stop.wait()
            return PlainTextResponse("gone", status_code=503)
        if self.down:
            return PlainTextResponse("<html>Service Unavailable</html>", status_code=503)
        self.sent[body["biz_opaque_callback_data"]] += 1
        return JSONResponse({"messaging_product": "whatsapp", "messages": [{"id": f"wamid.fake.{next(self._ids)}"}]})

    def requested(self, text: str) -> int:
        return sum(1 for body in self.bodies if body.get("text", {}).get("body") == text)

    async def serve(self) -> tuple[int, uvicorn.Server, asyncio.Task[None]]:
        app = Starlette(routes=[Route("/{version}/{number}/messages", self.messages, methods=["POST"])])
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", ws="none"))
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:  # noqa: ASYNC110  # uvicorn exposes a flag, no event to wait on
            await asyncio.sleep(0.01)
        return sock.getsockname()[1], server, task

    def stop(self) -> None:
        self._stop.set()


def environment(instance: str, database_url: str, redis_url: str | None, prefix: str, api_port: int) -> dict[str, str]:
    """``redis_url`` ``None``: PostgreSQL alone (events through LISTEN/NOTIFY)."""
    redis = {} if redis_url is None else {"DISPATCHER_REDIS_URL": redis_url, "DISPATCHER_REDIS_PREFIX": prefix}
    return clean_environment(
        **SECRETS,
        **redis,
        DISPATCHER_DATABASE_URL=database_url,
        DISPATCHER_INSTANCE_ID=instance,
        DISPATCHER_PRESENCE_TTL="3",
        DISPATCHER_TICK_INTERVAL="0.1",
        DISPATCHER_DISCONNECT_GRACE="30",
        DISPATCHER_OUTBOX_LEASE="2",
        WHATSAPP_ACCESS_TOKEN="token",
        WHATSAPP_PHONE_NUMBER_ID=NUMBER,
        WHATSAPP_API_BASE_URL=f"http://127.0.0.1:{api_port}/v21.0",
        WHATSAPP_RETRY_MAX_ATTEMPTS="1",
        WHATSAPP_CIRCUIT_BREAKER_ENABLED="false",
        WHATSAPP_REQUEST_TIMEOUT="60",
    )


def agent_url(port: int, agent_id: str) -> str:
    token = mint_agent_token(SECRETS["DISPATCHER_AGENT_TOKEN_SECRET"], agent_id)
    return f"ws://127.0.0.1:{port}/ws/agent?token={token}"


async def next_of_type(ws: ClientConnection, expected: str) -> dict[str, Any]:
    while True:
        frame = await receive_json(ws, give_up_after=30)
        if frame["type"] == expected:
            return frame


async def status_frame(ws: ClientConnection, status: str) -> dict[str, Any]:
    """The next ``message.status`` frame reporting ``status`` (every change is reported, the send's own
    outcome included)."""
    while True:
        frame = await next_of_type(ws, "message.status")
        if frame["status"] == status:
            return frame


async def reply(ws: ClientConnection, conversation_id: str, text: str) -> None:
    await ws.send(json.dumps({"type": "reply", "conversation_id": conversation_id, "text": text, "client_id": text}))


async def webhook(http: httpx.AsyncClient, body: bytes) -> dict[str, Any]:
    response = await http.post(
        "/webhooks/whatsapp", content=body, headers=signed_webhook_headers(body, SECRETS["WHATSAPP_APP_SECRET"])
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def outbound(http: httpx.AsyncClient, conversation_id: str) -> dict[str, dict[str, Any]]:
    detail = (await http.get(f"/admin/conversations/{conversation_id}", headers=ADMIN)).json()
    return {m["text"]: m for m in detail["messages"] if m["direction"] == "out"}


async def status_on_b_reaches_alice_on_a(alice: ClientConnection, b: httpx.AsyncClient, conversation_id: str) -> None:
    # 1. a reply sent by A; its status posted to B reaches alice on A
    await reply(alice, conversation_id, "first")
    accepted = await next_of_type(alice, "reply.accepted")
    assert accepted["status"] == "sent", accepted
    status = status_body(
        business_number_id=NUMBER, message_id=accepted["wamid"], status="delivered", recipient_id=CUSTOMER
    )
    assert (await webhook(b, status))["statuses"] == 1
    frame = await status_frame(alice, "delivered")
    assert (frame["message_id"], frame["status"], frame["previous"]) == (
        accepted["message_id"],
        "delivered",
        "sent",
    )


async def in_flight_settled_by_its_webhook(a: httpx.AsyncClient, port_b: int, conversation_id: str) -> None:
    # 4. its status webhook, matched by our reference, settles it; alice (now on B) is told
    async with connect(agent_url(port_b, "alice")) as alice_b:
        hello = await receive_json(alice_b)
        (conversation,) = hello["conversations"]
        texts = [(m["direction"], m["text"]) for m in conversation["messages"]]
        assert texts == [
            ("in", "hi"),
            ("out", "first"),
            ("out", "queued-1"),
            ("out", "queued-2"),
            ("out", "hang-1"),
        ]
        replies = await outbound(a, conversation_id)
        reference = replies["hang-1"]["id"]
        late = status_body(
            business_number_id=NUMBER,
            message_id="wamid.late",
            status="delivered",
            recipient_id=CUSTOMER,
            reference=reference,
        )
        assert (await webhook(a, late))["statuses"] == 1
        frame = await status_frame(alice_b, "delivered")
        assert (frame["message_id"], frame["status"], frame["previous"], frame["wamid"]) == (
            reference,
            "delivered",
            "unknown",
            "wamid.late",
        )


@pytest.mark.parametrize("topology", ["postgresql+redis", "postgresql"])
async def test_queued_and_in_flight_replies_survive_a_sigkill_and_statuses_reach_any_instance(
    tmp_path: Path, postgres_database: str, redis_url: str, redis_prefix: str, topology: str
) -> None:
    api = CloudApi()
    api_port, api_server, api_task = await api.serve()
    port_a, port_b = free_port(), free_port()
    events_url = redis_url if topology == "postgresql+redis" else None
    env_a = environment("inst-a", postgres_database, events_url, redis_prefix, api_port)
    env_b = environment("inst-b", postgres_database, events_url, redis_prefix, api_port)
    try:
        with running_servers(tmp_path, [(port_a, env_a), (port_b, env_b)]) as (process_a, _process_b):
            async with (
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{port_a}") as a,
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{port_b}") as b,
            ):
                alice = await connect(agent_url(port_a, "alice"))
                assert (await receive_json(alice))["type"] == "hello"
                body = text_message_body(business_number_id=NUMBER, customer_id=CUSTOMER, message_id="w1", text="hi")
                assert (await webhook(b, body))["accepted"] == 1
                conversation_id = (await next_of_type(alice, "conversation.assigned"))["conversation_id"]

                await status_on_b_reaches_alice_on_a(alice, b, conversation_id)

                # 2. the API goes down: two replies stay queued; then one request hangs in flight
                api.down = True
                for text in ("queued-1", "queued-2"):
                    await reply(alice, conversation_id, text)
                    assert (await next_of_type(alice, "reply.accepted"))["status"] == "queued"
                await reply(alice, conversation_id, "hang-1")

                async def in_flight() -> bool:
                    return api.requested("hang-1") == 1

                await eventually(in_flight, give_up_after=20)
                process_a.kill()  # SIGKILL: no cleanup at all
                process_a.wait()
                await alice.close()

                # 3. the API is back: B sends the queued replies; the in-flight one is never resent
                api.down = False

                async def queued_sent() -> bool:
                    replies = await outbound(b, conversation_id)
                    return all(replies[text]["outbound"]["status"] == "sent" for text in ("queued-1", "queued-2"))

                await eventually(queued_sent, give_up_after=30)
                with running_servers(tmp_path, [(port_a, env_a)]):  # A restarts (and recovers) too

                    async def in_flight_unknown() -> bool:
                        status: str = (await outbound(a, conversation_id))["hang-1"]["outbound"]["status"]
                        return status == "unknown"

                    await eventually(in_flight_unknown, give_up_after=30)

                    await in_flight_settled_by_its_webhook(a, port_b, conversation_id)

                    # the record is the same on both instances
                    assert await outbound(a, conversation_id) == await outbound(b, conversation_id)
                    final = {text: m["outbound"]["status"] for text, m in (await outbound(b, conversation_id)).items()}
                    assert final == {
                        "first": "delivered",
                        "queued-1": "sent",
                        "queued-2": "sent",
                        "hang-1": "delivered",
                    }
                    # each reply reached the API successfully exactly once; the in-flight one was asked once
                    assert sorted(api.sent.values()) == [1, 1, 1]
                    assert api.requested("hang-1") == 1
                    stats_a = (await a.get("/admin/stats", headers=ADMIN)).json()["whatsapp"]["messages"]
                    stats_b = (await b.get("/admin/stats", headers=ADMIN)).json()["whatsapp"]["messages"]
                    assert stats_a["outbound_by_status"] == stats_b["outbound_by_status"] == {"delivered": 2, "sent": 2}
    finally:
        api.stop()
        api_server.should_exit = True
        await api_task
