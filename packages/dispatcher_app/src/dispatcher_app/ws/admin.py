"""``/ws/admin?token=<DISPATCHER_ADMIN_TOKEN>``: every event, for dashboards (docs/api.md).

The stream starts with a ``hello`` holding the queue as it is now, then carries every domain event seen by
this instance (with Redis: by every instance), queue updates included, each numbered with a per-instance
``seq``. The admin may send ``ping`` (answered by ``pong``); anything else gets an ``error`` frame.
"""

from __future__ import annotations

import asyncio

from starlette.websockets import WebSocket

from dispatcher_app.auth import token_matches
from dispatcher_app.runtime import Runtime, RuntimeHolder
from dispatcher_app.serialization import converter
from dispatcher_app.ws.agent import UNAUTHORIZED_CLOSE_CODE, UNAVAILABLE_CLOSE_CODE
from dispatcher_app.ws.connection import SocketConnection
from dispatcher_app.ws.endpoint import RuntimeSocket
from dispatcher_app.ws.frames import FrameError, parse_frame
from dispatcher_core import QueueService
from dispatcher_core.errors import StoreError

__all__ = ["AdminSocket"]


class AdminSocket(RuntimeSocket):
    def __init__(self, holder: RuntimeHolder) -> None:
        super().__init__(holder, UNAVAILABLE_CLOSE_CODE)

    async def _session(self, runtime: Runtime, websocket: WebSocket) -> None:
        await websocket.accept()
        if not token_matches(websocket.query_params.get("token"), runtime.config.admin_token):
            await websocket.close(UNAUTHORIZED_CLOSE_CODE, "invalid admin token")
            return
        connection = SocketConnection(websocket)
        gauge = runtime.metrics.connections.labels("admin")
        gauge.inc()
        writer = asyncio.create_task(connection.run_writer())
        try:
            try:
                async with runtime.uow_factory() as uow:
                    positions = await QueueService(uow.queue).get_queue_positions()
            except StoreError:
                connection.close(UNAVAILABLE_CLOSE_CODE, "store unavailable, reconnect later")
                return
            connection.send_json(
                {
                    "type": "hello",
                    "seq": 0,
                    "instance_id": runtime.instance_id,
                    "queue": converter.unstructure(positions),
                }
            )
            runtime.router.attach_admin(connection)
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                try:
                    frame: dict[str, object] | None = parse_frame(message.get("text") or "")
                except FrameError:  # not JSON, too large, nested too deep, not valid Unicode: answered below
                    frame = None
                if frame is not None and frame.get("type") == "ping":
                    connection.send_json({"type": "pong"})
                else:
                    connection.send_json({"type": "error", "code": "bad_frame", "message": "only ping is accepted"})
        finally:
            runtime.router.detach_admin(connection)
            gauge.dec()
            connection.finish(1000, "bye")
            await writer
