"""Test support for the app, shipped for this project and for backends that embed it.

* :func:`serve` - run an ASGI app on a real uvicorn server on a free local port, inside the current event
  loop, and stop it on exit (lifespan included).
* :class:`AppSlot` and :func:`mounted` - one server for many apps: the server serves the slot, each test
  mounts a fresh app (its own store) in it for its duration, lifespan included.
* :class:`AppHarness` - the mounted app, its server and an HTTP client, with helpers for the routes.
* :func:`signed_webhook_headers` - the headers Meta sends with a body, signed with a test app secret.
* :func:`make_config` - an :class:`~dispatcher_app.config.AppConfig` with throw-away secrets.
* :func:`text_message_body`, :func:`status_body` - minimal webhook bodies of the shape Meta sends.
* :func:`receive_json` - the next frame of a ``websockets`` client, decoded, with a failure guard.

Nothing here is imported by the app itself.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send
from websockets.asyncio.client import ClientConnection, connect

from dispatcher_app.app import runtime_of
from dispatcher_app.auth import mint_agent_token
from dispatcher_app.config import AppConfig
from dispatcher_app.runtime import Runtime
from dispatcher_app.webhooks.signature import SIGNATURE_HEADER, sign

__all__ = [
    "TEST_ADMIN_TOKEN",
    "TEST_AGENT_SECRET",
    "TEST_APP_SECRET",
    "TEST_VERIFY_TOKEN",
    "AppHarness",
    "AppSlot",
    "RunningServer",
    "eventually",
    "make_config",
    "mounted",
    "receive_json",
    "serve",
    "signed_webhook_headers",
    "status_body",
    "text_message_body",
]

TEST_APP_SECRET = "test-app-secret"
TEST_ADMIN_TOKEN = "test-admin-token"
TEST_AGENT_SECRET = "test-agent-token-secret-of-at-least-32-bytes"
TEST_VERIFY_TOKEN = "test-verify-token"


def make_config(**changes: Any) -> AppConfig:
    """In-memory store and test secrets, plus whatever ``changes`` say."""
    values: dict[str, Any] = {
        "admin_token": TEST_ADMIN_TOKEN,
        "agent_token_secret": TEST_AGENT_SECRET,
        "whatsapp_app_secret": TEST_APP_SECRET,
        "whatsapp_verify_token": TEST_VERIFY_TOKEN,
        "database_url": "memory://",
    }
    values.update(changes)
    return AppConfig(**values)


def signed_webhook_headers(body: bytes, secret: str = TEST_APP_SECRET) -> dict[str, str]:
    return {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, secret)}


@dataclass(frozen=True, slots=True)
class RunningServer:
    host: str
    port: int

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}"


@asynccontextmanager
async def serve(app: Any, *, host: str = "127.0.0.1") -> AsyncIterator[RunningServer]:
    """Serve ``app`` with uvicorn on a free port of ``host`` until the block exits."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="on", log_level="warning", ws="websockets-sansio")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                await task  # start-up failed: raise its error
                raise RuntimeError("uvicorn stopped during start-up")
            await asyncio.sleep(0.01)
        yield RunningServer(host, port)
    finally:
        server.should_exit = True
        await task
        sock.close()


def text_message_body(
    *,
    business_number_id: str,
    customer_id: str,
    message_id: str,
    text: str,
    name: str | None = None,
    timestamp: int = 1_700_000_000,
) -> bytes:
    """A webhook body with one text message, shaped like Meta's."""
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": business_number_id, "phone_number_id": business_number_id},
        "messages": [
            {"from": customer_id, "id": message_id, "timestamp": str(timestamp), "type": "text", "text": {"body": text}}
        ],
    }
    if name is not None:
        value["contacts"] = [{"profile": {"name": name}, "wa_id": customer_id}]
    return _envelope(value)


def status_body(
    *, business_number_id: str, message_id: str, status: str, recipient_id: str, reference: str | None = None
) -> bytes:
    """A webhook body with one delivery status (``reference``: the ``biz_opaque_callback_data`` it echoes)."""
    item: dict[str, Any] = {"id": message_id, "status": status, "timestamp": "1700000000", "recipient_id": recipient_id}
    if reference is not None:
        item["biz_opaque_callback_data"] = reference
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": business_number_id, "phone_number_id": business_number_id},
        "statuses": [item],
    }
    return _envelope(value)


def _envelope(value: dict[str, Any]) -> bytes:
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "test-waba", "changes": [{"value": value, "field": "messages"}]}],
    }
    return json.dumps(body).encode()


async def receive_json(websocket: Any, give_up_after: float = 10.0) -> dict[str, Any]:
    """The next frame of a ``websockets`` client connection as a dict. The wait only guards against a test
    hanging forever (``give_up_after`` seconds); it is not a latency expectation."""
    frame = json.loads(await asyncio.wait_for(websocket.recv(), give_up_after))
    if not isinstance(frame, dict):
        raise AssertionError(f"frame is not a JSON object: {frame!r}")
    return frame


class AppSlot:
    """An ASGI app forwarding to the app mounted now; answers 503 when none is. Its own lifespan does
    nothing: the mounted apps' lifespans run in :func:`mounted`."""

    def __init__(self) -> None:
        self.app: Starlette | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        app = self.app
        if app is None:
            if scope["type"] == "http":
                await send({"type": "http.response.start", "status": 503, "headers": []})
                await send({"type": "http.response.body", "body": b"no app mounted"})
            else:
                await send({"type": "websocket.close", "code": 1013})
            return
        await app(scope, receive, send)


@dataclass(frozen=True, slots=True)
class AppHarness:
    app: Starlette
    server: RunningServer
    http: httpx.AsyncClient
    config: AppConfig

    @property
    def runtime(self) -> Runtime:
        return runtime_of(self.app)

    async def post_webhook(self, body: bytes, *, secret: str | None = None) -> httpx.Response:
        """POST ``body`` signed with ``secret`` (default: the app's own secret)."""
        headers = signed_webhook_headers(body, self.config.whatsapp_app_secret if secret is None else secret)
        return await self.http.post("/webhooks/whatsapp", content=body, headers=headers)

    async def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.config.admin_token}"}
        return await self.http.request(method, path, headers=headers, **kwargs)

    def agent_url(self, token: str) -> str:
        return f"{self.server.ws_url}/ws/agent?token={token}"

    @asynccontextmanager
    async def agent(self, agent_id: str) -> AsyncIterator[tuple[ClientConnection, dict[str, Any]]]:
        """A connected socket of ``agent_id`` and the ``hello`` it received first."""
        token = mint_agent_token(self.config.agent_token_secret, agent_id)
        async with connect(self.agent_url(token)) as websocket:
            hello = await receive_json(websocket)
            if hello.get("type") != "hello":
                raise AssertionError(f"first frame is not hello: {hello}")
            yield websocket, hello

    async def queued_agents(self) -> list[str]:
        response = await self.admin("GET", "/admin/queue")
        response.raise_for_status()
        return [row["agent_id"] for row in response.json()["agents"] if row["position"] is not None]


@asynccontextmanager
async def mounted(slot: AppSlot, server: RunningServer, app: Starlette, config: AppConfig) -> AsyncIterator[AppHarness]:
    """Run ``app``'s lifespan and serve it through ``slot`` until the block exits."""
    async with app.router.lifespan_context(app), httpx.AsyncClient(base_url=server.http_url) as http:
        slot.app = app
        try:
            yield AppHarness(app=app, server=server, http=http, config=config)
        finally:
            slot.app = None


async def eventually(check: Callable[[], Awaitable[bool]], give_up_after: float = 10.0) -> None:
    """Wait until ``check()`` is true: for effects the server applies after answering (a socket closed by
    the client is processed asynchronously). The limit only stops a broken test from hanging."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + give_up_after
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"condition still false after {give_up_after}s")
        await asyncio.sleep(0.01)
