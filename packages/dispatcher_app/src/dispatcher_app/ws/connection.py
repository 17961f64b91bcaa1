"""One open WebSocket as seen by the event router: a bounded outbox drained by a writer task.

Why an outbox: events are produced by whoever committed (a webhook request, another socket, the scheduler)
and must never wait for a slow client. Frames are queued without blocking; a client that lets its outbox
fill up is disconnected (close code 1013) and resynchronises from the ``hello`` it gets when it reconnects,
which is what docs/api.md promises for a gap in ``seq``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.websockets import WebSocket, WebSocketState

from dispatcher_app.serialization import JSON, dumps

__all__ = ["OVERFLOW_CLOSE_CODE", "AgentConnection", "SocketConnection"]

_log = logging.getLogger(__name__)

#: Close code sent to a client too slow to read its frames ("try again later").
OVERFLOW_CLOSE_CODE = 1013
DEFAULT_OUTBOX_LIMIT = 1024


class _Close:
    __slots__ = ("code", "reason")

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason


class SocketConnection:
    """A socket with its outbox. :meth:`offer` never blocks; :meth:`run_writer` sends in order."""

    def __init__(self, websocket: WebSocket, *, outbox_limit: int = DEFAULT_OUTBOX_LIMIT) -> None:
        self.websocket = websocket
        self._outbox: asyncio.Queue[str | _Close] = asyncio.Queue(outbox_limit)
        self._closing = False

    def offer(self, text: str) -> None:
        """Queue a frame. On overflow the socket is closed instead (the client resynchronises)."""
        if self._closing:
            return
        try:
            self._outbox.put_nowait(text)
        except asyncio.QueueFull:
            _log.warning("closing a socket whose client does not read its frames")
            self.close(OVERFLOW_CLOSE_CODE, "outbox overflow: reconnect to resynchronise")

    def send_json(self, payload: JSON) -> None:
        self.offer(dumps(payload))

    def close(self, code: int, reason: str) -> None:
        """Stop sending and close the socket once the writer gets there (pending frames are dropped)."""
        if self._closing:
            return
        self._closing = True
        while not self._outbox.empty():
            self._outbox.get_nowait()
        self._outbox.put_nowait(_Close(code, reason))

    def finish(self, code: int, reason: str) -> None:
        """Close the socket after the frames already queued are sent (a full outbox closes at once)."""
        if self._closing:
            return
        try:
            self._outbox.put_nowait(_Close(code, reason))
        except asyncio.QueueFull:
            self.close(code, reason)
            return
        self._closing = True

    async def run_writer(self) -> None:
        """Send queued frames until closed. Returns when the socket is closed or the client went away."""
        while True:
            item = await self._outbox.get()
            if isinstance(item, _Close):
                with contextlib.suppress(Exception):  # the client may already be gone; nothing left to do
                    if self.websocket.application_state is WebSocketState.CONNECTED:
                        await self.websocket.close(item.code, item.reason)
                return
            try:
                await self.websocket.send_text(item)
            except UnicodeEncodeError:  # a frame that is not valid Unicode: drop it, never fall silent
                _log.error("dropped a frame that cannot be encoded as UTF-8: %r", item[:200])
            except Exception:  # disconnected mid-send: the reader side sees the disconnect and cleans up
                return


class AgentConnection(SocketConnection):
    """An agent's socket. Frames carry the agent's ``seq``: event frames the number the event got, control
    frames (``hello``, ``pong``, ``error``, ``reply.accepted``) the last number this socket was sent.

    Until :meth:`start` sends ``hello``, event frames are held back; those the ``hello`` snapshot already
    covers (``seq`` at or below the snapshot's) are then dropped, the later ones sent after it.
    """

    def __init__(
        self,
        websocket: WebSocket,
        *,
        agent_id: str,
        connection_id: str,
        outbox_limit: int = DEFAULT_OUTBOX_LIMIT,
    ) -> None:
        super().__init__(websocket, outbox_limit=outbox_limit)
        self.agent_id = agent_id
        self.connection_id = connection_id
        self.last_seq = 0
        #: True between the store recording this socket and the socket closing.
        self.joined = False
        #: True while the event hub delivers this agent's events to this instance for this socket.
        self.watched = False
        self._started = False
        self._held: list[tuple[int, str]] = []

    def deliver(self, seq: int, text: str) -> None:
        """An event frame numbered ``seq`` for this agent."""
        if not self._started:
            self._held.append((seq, text))
            return
        self.last_seq = max(self.last_seq, seq)
        self.offer(text)

    def start(self, hello: JSON, snapshot_seq: int) -> None:
        """Send ``hello`` (numbered ``snapshot_seq``), then the held frames it does not cover."""
        self.last_seq = snapshot_seq
        self.offer(dumps({**hello, "seq": snapshot_seq}))
        self._started = True
        held, self._held = self._held, []
        for seq, text in sorted(held, key=lambda item: item[0]):
            if seq > snapshot_seq:
                self.deliver(seq, text)

    def resync(self, hello: JSON, seq: int) -> None:
        """A fresh ``hello`` after missed events. A socket still joining ignores it: its own comes next."""
        if self._started:
            self.last_seq = max(self.last_seq, seq)
            self.offer(dumps({**hello, "seq": self.last_seq}))

    def control(self, payload: JSON) -> None:
        """A reply to this socket only, numbered with the last ``seq`` it was sent."""
        self.offer(dumps({**payload, "seq": self.last_seq}))
