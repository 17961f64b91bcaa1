"""``/ws/agent?token=<JWT>``: an agent's live connection (docs/api.md).

Life of a socket:

1. the token is checked; a bad one gets the socket closed with 4401 before any event;
2. the socket joins the router (event frames are held back), then the orchestrator hears of the connection
   (rule 3: the agent's first socket joins the queue and pending conversations are distributed);
3. ``hello`` is sent with the agent's open conversations and the agent's current ``seq``; held frames that
   ``hello`` does not already cover follow;
4. the agent sends ``reply``, ``close`` and ``ping`` frames; each bad one (not JSON, too large, nested too
   deep, strings that are not valid Unicode: :mod:`~dispatcher_app.ws.frames`) gets an ``error`` frame and
   changes nothing; an unexpected failure while handling a frame is logged and answered with an ``error``
   frame ``internal``, and the socket goes on;
5. when the socket closes the orchestrator hears of it (rule 4: the last socket starts the grace period).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from starlette.websockets import WebSocket

from dispatcher_app.auth import AgentTokenError, verify_agent_token
from dispatcher_app.replies import MAX_REPLY_LENGTH, ReplyRejected, ReplyRequest
from dispatcher_app.runtime import Runtime, RuntimeHolder
from dispatcher_app.ws.connection import AgentConnection
from dispatcher_app.ws.endpoint import RuntimeSocket
from dispatcher_app.ws.frames import FrameError, parse_frame
from dispatcher_app.ws.snapshot import agent_hello
from dispatcher_core.errors import (
    ConversationAlreadyClosed,
    ConversationNotFound,
    DispatcherError,
    NotConversationOwner,
    StoreError,
)

__all__ = ["UNAUTHORIZED_CLOSE_CODE", "UNAVAILABLE_CLOSE_CODE", "AgentSocket"]

_log = logging.getLogger(__name__)

UNAUTHORIZED_CLOSE_CODE = 4401
UNAVAILABLE_CLOSE_CODE = 1011
_MAX_CLIENT_ID = 200


def _error_of(exc: DispatcherError) -> tuple[str, str]:
    """The ``error`` frame's code and message for a refusal of the core."""
    match exc:
        case ConversationNotFound():
            return "not_found", f"no conversation {exc}"
        case NotConversationOwner():
            return "not_owner", str(exc)
        case ConversationAlreadyClosed():
            return "closed", str(exc)
        case StoreError():
            return "unavailable", f"store unavailable, retry: {exc}"
        case _:
            return "invalid", str(exc)


def _text_field(frame: Mapping[str, object], name: str, *, limit: int) -> str:
    value = frame.get(name)
    if not isinstance(value, str) or not value.strip():
        raise FrameError("invalid", f"{name} must be a non-empty string")
    if len(value) > limit:
        raise FrameError("invalid", f"{name} must be at most {limit} characters")
    return value


class AgentSocket(RuntimeSocket):
    def __init__(self, holder: RuntimeHolder) -> None:
        super().__init__(holder, UNAVAILABLE_CLOSE_CODE)

    async def _session(self, runtime: Runtime, websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            agent_id = verify_agent_token(runtime.config.agent_token_secret, websocket.query_params.get("token"))
        except AgentTokenError as exc:
            await websocket.close(UNAUTHORIZED_CLOSE_CODE, str(exc)[:120])
            return
        connection = AgentConnection(websocket, agent_id=agent_id, connection_id=runtime.presence.new_connection_id())
        runtime.router.attach_agent(connection)
        gauge = runtime.metrics.connections.labels("agent")
        gauge.inc()
        writer = asyncio.create_task(connection.run_writer())
        try:
            await self._join(runtime, connection)
            await self._serve(runtime, connection)
        except DispatcherError as exc:  # the store failed while joining: the client reconnects later
            _log.warning("agent socket of %s closed: %s", agent_id, exc)
            connection.close(UNAVAILABLE_CLOSE_CODE, "store unavailable, reconnect later")
        finally:
            gauge.dec()
            await self._leave(runtime, connection)
            connection.finish(1000, "bye")
            await writer

    async def _join(self, runtime: Runtime, connection: AgentConnection) -> None:
        await runtime.hub.watch(connection.agent_id)
        connection.watched = True
        await runtime.orchestrator.handle_agent_connected(connection.agent_id, connection.connection_id)
        connection.joined = True
        seq = await runtime.hub.current_seq(connection.agent_id)
        hello = await agent_hello(runtime.uow_factory, connection.agent_id)
        connection.start({**hello, "connection_id": connection.connection_id}, seq)

    async def _leave(self, runtime: Runtime, connection: AgentConnection) -> None:
        """Always tell the orchestrator (unknown connections are ignored): the store may have recorded the
        socket even when joining failed after that."""
        runtime.router.detach_agent(connection)
        connection.joined = False
        runtime.presence.leaving.add(connection.connection_id)
        if connection.watched:
            connection.watched = False
            try:
                await runtime.hub.unwatch(connection.agent_id)
            except Exception:  # Redis is gone: the subscription goes with the connection anyway
                _log.warning("could not stop watching agent %s", connection.agent_id, exc_info=True)
        try:
            await runtime.orchestrator.handle_agent_disconnected(connection.agent_id, connection.connection_id)
        except Exception:  # the store is down: presence reconciliation removes the connection later
            _log.exception("could not record the disconnection of %s", connection.connection_id)
        finally:
            runtime.presence.leaving.discard(connection.connection_id)

    async def _serve(self, runtime: Runtime, connection: AgentConnection) -> None:
        websocket = connection.websocket
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            raw = message.get("text")
            if raw is None and message.get("bytes") is not None:
                raw = message["bytes"].decode("utf-8", errors="replace")
            try:
                frame = parse_frame(raw or "")
            except FrameError as exc:
                self._error(connection, exc.code, str(exc), None, None)
                continue
            try:
                await self._handle(runtime, connection, frame)
            except Exception:  # a bug: logged, answered, and the socket goes on (never a silent socket)
                _log.exception(
                    "agent %s: unexpected failure handling a %r frame", connection.agent_id, frame.get("type")
                )
                self._error(
                    connection, "internal", "internal error: the frame was not handled", frame.get("type"), None
                )

    async def _handle(self, runtime: Runtime, connection: AgentConnection, frame: Mapping[str, object]) -> None:
        kind = frame.get("type")
        raw_client_id = frame.get("client_id")
        client_id = raw_client_id if isinstance(raw_client_id, str) else None
        try:
            match kind:
                case "ping":
                    connection.control({"type": "pong"})
                case "reply":
                    await self._reply(runtime, connection, frame, client_id)
                case "close":
                    conversation_id = _text_field(frame, "conversation_id", limit=200)
                    await runtime.orchestrator.close_conversation(connection.agent_id, conversation_id)
                case _:
                    raise FrameError("bad_frame", f"unknown frame type {kind!r}: expected reply, close or ping")
        except FrameError as exc:
            self._error(connection, exc.code, str(exc), kind, client_id)
        except ReplyRejected as exc:
            self._error(connection, exc.code, str(exc), kind, client_id)
        except DispatcherError as exc:
            code, message = _error_of(exc)
            self._error(connection, code, message, kind, client_id)

    async def _reply(
        self, runtime: Runtime, connection: AgentConnection, frame: Mapping[str, object], client_id: str | None
    ) -> None:
        conversation_id = _text_field(frame, "conversation_id", limit=200)
        text = _text_field(frame, "text", limit=MAX_REPLY_LENGTH)
        if client_id is not None and len(client_id) > _MAX_CLIENT_ID:
            raise FrameError("invalid", f"client_id must be at most {_MAX_CLIENT_ID} characters")
        receipt = await runtime.reply_sender.send_reply(
            ReplyRequest(agent_id=connection.agent_id, conversation_id=conversation_id, text=text, client_id=client_id)
        )
        connection.control(
            {
                "type": "reply.accepted",
                "client_id": client_id,
                "conversation_id": conversation_id,
                "message_id": receipt.message_id,
                "status": receipt.status,
                "wamid": receipt.wamid,
                "duplicate": receipt.duplicate,
            }
        )

    @staticmethod
    def _error(connection: AgentConnection, code: str, message: str, request: object, client_id: str | None) -> None:
        connection.control(
            {
                "type": "error",
                "code": code,
                "message": message,
                "request": request if isinstance(request, str) else None,
                "client_id": client_id,
            }
        )
