"""Server-side read deadlines for slow clients: uvicorn's h11 protocol with a header and a body timeout.

Why: uvicorn limits how long an *idle* keep-alive connection stays open (``timeout_keep_alive``) but not how
long a client may take to send a request. A client that sends its headers one byte at a time keeps a
connection (and a file descriptor, and memory) forever; a few hundred of them exhaust an instance
("slowloris"). This protocol gives each request two deadlines:

* **headers** - the request line and headers must be complete within ``header_timeout`` seconds of the
  connection opening, or of the previous response on a kept-alive connection. Counted from then, not from
  the last byte: trickling bytes does not extend it.
* **body** - once the headers are in, the body must be complete within ``body_timeout`` seconds.

Past a deadline the server answers ``408 Request Timeout`` if it has not started a response, and closes the
connection. A WebSocket upgrade leaves both deadlines behind (the socket has its own pings). Header size is
bounded by h11 (16 KiB) and the webhook body by ``DISPATCHER_WEBHOOK_MAX_BYTES``.

``dispatcher serve`` uses it (``--header-timeout``, ``--body-timeout``, ``--keep-alive-timeout``); an
embedding server can pass :func:`deadline_h11_protocol` as uvicorn's ``http=``.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import h11  # uvicorn's own HTTP/1.1 parser (a dependency of uvicorn itself), whose states we read
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["DEFAULT_BODY_TIMEOUT", "DEFAULT_HEADER_TIMEOUT", "DEFAULT_KEEP_ALIVE_TIMEOUT", "deadline_h11_protocol"]

DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_BODY_TIMEOUT = 30.0
DEFAULT_KEEP_ALIVE_TIMEOUT = 5

_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\ncontent-length: 24\r\n\r\nrequest not sent in time"
)


class _DeadlineH11Protocol(H11Protocol):
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    body_timeout: float = DEFAULT_BODY_TIMEOUT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._phase: Literal["headers", "body"] | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # as uvicorn's
        super().connection_made(transport)
        self._follow()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._follow()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._follow()

    def connection_lost(self, exc: Exception | None) -> None:
        self._set(None)
        super().connection_lost(exc)

    def _follow(self) -> None:
        """Arm the deadline of the phase the client is in, once per phase (not per byte)."""
        if self.transport is None or self.transport.is_closing() or self.transport.get_protocol() is not self:
            self._set(None)
            return
        state = self.conn.their_state
        if state is h11.IDLE:
            self._set("headers")
        elif state is h11.SEND_BODY:
            self._set("body")
        else:  # the request is in (or the connection switched protocol, or failed): no read deadline
            self._set(None)

    def _set(self, phase: Literal["headers", "body"] | None) -> None:
        if phase == self._phase:
            return
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._phase = phase
        if phase is not None:
            delay = self.header_timeout if phase == "headers" else self.body_timeout
            self._deadline = self.loop.call_later(delay, self._expired)

    def _expired(self) -> None:
        self._deadline = None
        transport = self.transport
        if transport.is_closing() or transport.get_protocol() is not self:
            return
        if self.conn.our_state is h11.IDLE:  # nothing sent yet on this request
            transport.write(_TIMEOUT_RESPONSE)
        transport.close()


def deadline_h11_protocol(
    *, header_timeout: float = DEFAULT_HEADER_TIMEOUT, body_timeout: float = DEFAULT_BODY_TIMEOUT
) -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol with these deadlines (seconds, > 0), for ``uvicorn.run(..., http=...)``."""
    if header_timeout <= 0 or body_timeout <= 0:
        raise ValueError("header_timeout and body_timeout must be > 0")
    return type(
        "DeadlineH11Protocol",
        (_DeadlineH11Protocol,),
        {"header_timeout": header_timeout, "body_timeout": body_timeout},
    )
