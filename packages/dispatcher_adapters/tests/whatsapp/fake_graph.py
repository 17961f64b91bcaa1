"""A fake Graph API served over real HTTP on loopback: records every request, injects faults on demand.

A small Starlette app run by uvicorn on a free port inside the test's event loop. Each ``POST
.../{phone-number-id}/messages`` is recorded (path, headers, JSON body) and then answered with the next
scripted fault, or with the standing failure mode, or with a Cloud API success carrying a fresh wamid.
``hang`` answers only when released (at the latest when the server stops), so a client timeout is a real
timeout and the server still shuts down promptly.

``GET .../{waba-id}/message_templates`` serves :attr:`FakeGraph.templates` in pages of ``limit`` with
``paging.cursors.after``, and a ``paging.next`` link that carries the access token in its query string, as
Graph's do (a client that followed or logged it would leak the token). :attr:`FakeGraph.templates_fault`
answers every template request with that fault instead.

Media, as the Cloud API's two steps: ``GET .../{media-id}`` answers ``{"url", "mime_type", "sha256",
"file_size", "id"}`` for an id of :attr:`FakeGraph.media` (Graph's error 100 otherwise), and the URL
(``/download/{media-id}?...``, on this server) serves the bytes only with the bearer token;
:attr:`FakeGraph.expired_downloads` makes the next downloads answer 404, as an expired URL does. Every
request of both steps is in :attr:`FakeGraph.reads`.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

__all__ = ["FakeGraph", "Fault", "ReceivedRequest", "graph_error", "hang", "server_error"]


@dataclass(frozen=True)
class ReceivedRequest:
    path: str
    headers: dict[str, str]
    body: Any

    @property
    def reference(self) -> str:
        return str(self.body["biz_opaque_callback_data"])

    @property
    def to(self) -> str:
        return str(self.body["to"])


@dataclass(frozen=True)
class Fault:
    status: int = 200
    body: Any = None
    text: str | None = None
    hang: bool = False


def graph_error(code: int, http_status: int = 400, message: str = "error") -> Fault:
    """An error answer as the Graph API sends it."""
    return Fault(
        http_status,
        {"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEf"}},
    )


def server_error(status: int = 503) -> Fault:
    """A 5xx without a Graph body (a proxy's error page)."""
    return Fault(status, text="<html>Service Unavailable</html>")


def hang() -> Fault:
    """Never answers until released: the client times out, the outcome is unknown to it."""
    return Fault(hang=True)


@dataclass
class FakeGraph:
    requests: list[ReceivedRequest] = field(default_factory=list)
    _script: deque[Fault] = field(default_factory=deque)
    _standing: Fault | None = None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    port: int = 0
    templates: list[dict[str, Any]] = field(default_factory=list)
    templates_fault: Fault | None = None
    reads: list[ReceivedRequest] = field(default_factory=list)
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    expired_downloads: int = 0
    token: str = "test-access-token"

    def __post_init__(self) -> None:
        self._release = asyncio.Event()
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v27.0"

    def then(self, *faults: Fault) -> None:
        """Answer the next requests with these faults, in order, then go back to normal."""
        self._script.extend(faults)

    def fail_always(self, fault: Fault) -> None:
        self._standing = fault

    def recover(self) -> None:
        self._standing = None
        self._script.clear()

    def release(self) -> None:
        """Let hanging requests answer."""
        self._release.set()

    async def _messages(self, request: Request) -> Response:
        received = ReceivedRequest(request.url.path, dict(request.headers), await request.json())
        self.requests.append(received)
        fault = self._script.popleft() if self._script else self._standing
        if fault is not None and fault.hang:
            await self._release.wait()
            fault = None
        if fault is None:
            to = received.body.get("to")
            return JSONResponse(
                {
                    "messaging_product": "whatsapp",
                    "contacts": [{"input": to, "wa_id": to}],
                    "messages": [{"id": f"wamid.fake.{next(self._ids)}"}],
                }
            )
        if fault.text is not None:
            return PlainTextResponse(fault.text, status_code=fault.status)
        return JSONResponse(fault.body, status_code=fault.status)

    async def _message_templates(self, request: Request) -> Response:
        self.reads.append(ReceivedRequest(str(request.url), dict(request.headers), dict(request.query_params)))
        if self.templates_fault is not None:
            fault = self.templates_fault
            if fault.text is not None:
                return PlainTextResponse(fault.text, status_code=fault.status)
            return JSONResponse(fault.body, status_code=fault.status)
        limit = int(request.query_params.get("limit", "25"))
        start = int(request.query_params.get("after", "0"))
        page = self.templates[start : start + limit]
        body: dict[str, Any] = {
            "data": page,
            "paging": {"cursors": {"before": str(start), "after": str(start + limit)}},
        }
        if start + limit < len(self.templates):
            token = request.headers.get("authorization", "").removeprefix("Bearer ")
            body["paging"]["next"] = (
                f"{request.url.remove_query_params('after')}&access_token={token}&after={start + limit}"
            )
        return JSONResponse(body)

    async def _media_url(self, request: Request) -> Response:
        self.reads.append(ReceivedRequest(str(request.url), dict(request.headers), None))
        media_id = request.path_params["media_id"]
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return JSONResponse(graph_error(190, 401, "Invalid OAuth access token").body, status_code=401)
        if media_id not in self.media:
            message = f"Unsupported get request. Object with ID '{media_id}' does not exist"
            return JSONResponse(graph_error(100, 400, message).body, status_code=400)
        content, mime = self.media[media_id]
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "url": f"http://127.0.0.1:{self.port}/download/{media_id}?ext=1700000000&hash=ATu{media_id}",
                "mime_type": mime,
                "sha256": "0" * 64,
                "file_size": str(len(content)),
                "id": media_id,
            }
        )

    async def _download(self, request: Request) -> Response:
        self.reads.append(ReceivedRequest(str(request.url), dict(request.headers), None))
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return PlainTextResponse("unauthorized", status_code=401)
        if self.expired_downloads > 0:
            self.expired_downloads -= 1
            return PlainTextResponse("URL signature expired", status_code=404)
        content, mime = self.media[request.path_params["media_id"]]
        return Response(content, media_type=mime)

    async def start(self) -> None:
        app = Starlette(
            routes=[
                Route("/{version}/{number}/messages", self._messages, methods=["POST"]),
                Route("/{version}/{waba}/message_templates", self._message_templates, methods=["GET"]),
                Route("/download/{media_id}", self._download, methods=["GET"]),
                Route("/{version}/{media_id}", self._media_url, methods=["GET"]),
            ]
        )
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._socket = sock
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="off", ws="none", access_log=False)
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                await self._task
            await asyncio.sleep(0.005)

    async def stop(self) -> None:
        self._release.set()
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
        if self._socket is not None:
            self._socket.close()
