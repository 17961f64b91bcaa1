"""Slow clients on a real uvicorn server with the deadline protocol (short deadlines, so the test is quick).

Headers sent byte by byte, a connection that sends nothing, a body that trickles in: each connection is closed
by the server long before the client would have finished. A normal request, a kept-alive connection and a
WebSocket that outlives the deadlines are unaffected. No timing is asserted: only who closes first.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from websockets.asyncio.client import connect

from dispatcher_app.http_timeouts import deadline_h11_protocol

DEADLINE = 0.3


async def echo(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"got {len(await request.body())} bytes")


async def ws_echo(websocket: WebSocket) -> None:
    await websocket.accept()
    async for text in websocket.iter_text():
        await websocket.send_text(text)


APP = Starlette(routes=[Route("/echo", echo, methods=["GET", "POST"]), WebSocketRoute("/ws", ws_echo)])


@pytest.fixture
async def port() -> AsyncIterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free: int = sock.getsockname()[1]
    config = uvicorn.Config(
        APP,
        host="127.0.0.1",
        port=free,
        http=deadline_h11_protocol(header_timeout=DEADLINE, body_timeout=DEADLINE),
        ws="websockets-sansio",
        lifespan="off",
        log_level="warning",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110  # uvicorn's Server offers a flag, no event to wait on
        await asyncio.sleep(0.01)
    yield free
    server.should_exit = True
    await task


async def trickle(port: int, first: bytes, then: bytes) -> bytes:
    """Send ``first``, then ``then`` one byte every 20 ms; what the server sent before closing. Fails if the
    client gets to the end of ``then`` without the server closing."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(first)
        for index in range(len(then)):
            try:
                writer.write(then[index : index + 1])
                await writer.drain()
            except ConnectionError:
                break
            answer = await _closed(reader, 0.02)
            if answer is not None:
                return answer
        answer = await _closed(reader, 0.02)
        assert answer is not None, "the server waited for the whole slow request"
        return answer
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def timed_out(answer: bytes) -> bool:
    """Closed by the server, with its 408 when the client could still read it."""
    return answer == b"" or answer.startswith(b"HTTP/1.1 408")


async def _closed(reader: asyncio.StreamReader, wait: float) -> bytes | None:
    """What the server sent, if it closed the connection within ``wait``; else ``None``."""
    try:
        return await asyncio.wait_for(reader.read(), wait)
    except TimeoutError:
        return None
    except ConnectionResetError:  # closed while bytes of ours were unread: the kernel resets instead
        return b""


async def test_headers_sent_byte_by_byte_are_cut_off(port: int) -> None:
    slow = b"X-Slow: " + b"a" * 2_000 + b"\r\n\r\n"  # 40 s at this pace
    answers = await asyncio.gather(*(trickle(port, b"GET /echo HTTP/1.1\r\nHost: x\r\n", slow) for _ in range(30)))
    assert all(timed_out(answer) for answer in answers), answers[:3]


async def test_a_connection_that_sends_nothing_is_closed(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        assert (await asyncio.wait_for(reader.read(), 10)).startswith(b"HTTP/1.1 408")
    finally:
        writer.close()


async def test_a_body_that_trickles_in_is_cut_off(port: int) -> None:
    headers = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n"
    answer = await trickle(port, headers, b"b" * 2_000)
    assert timed_out(answer), answer


async def test_normal_requests_keep_alive_and_websockets_are_unaffected(port: int) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        for _ in range(3):  # one kept-alive connection, several requests
            response = await client.post("/echo", content=b"x" * 100_000)
            assert (response.status_code, response.text) == (200, "got 100000 bytes")
    async with connect(f"ws://127.0.0.1:{port}/ws") as ws:
        await asyncio.sleep(DEADLINE * 3)  # longer than both deadlines: they do not apply to an open socket
        await ws.send("still here")
        assert await ws.recv() == "still here"


def test_deadlines_must_be_positive() -> None:
    with pytest.raises(ValueError, match="> 0"):
        deadline_h11_protocol(header_timeout=0)
