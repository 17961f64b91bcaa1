"""What the agent and admin sockets share: refuse connections until the app has started, and count each
session on the runtime's router (so shutdown can close them all)."""

from __future__ import annotations

from abc import ABC, abstractmethod

from starlette.websockets import WebSocket

from dispatcher_app.runtime import NotStarted, Runtime, RuntimeHolder

__all__ = ["RuntimeSocket"]


class RuntimeSocket(ABC):
    """Base of the WebSocket endpoints: subclasses implement ``_session`` for a started runtime."""

    def __init__(self, holder: RuntimeHolder, unavailable_code: int) -> None:
        self._holder = holder
        self._unavailable_code = unavailable_code

    async def handle(self, websocket: WebSocket) -> None:
        try:
            runtime = self._holder.get()
        except NotStarted:
            await websocket.accept()
            await websocket.close(self._unavailable_code, "not started")
            return
        with runtime.router.session():
            await self._session(runtime, websocket)

    @abstractmethod
    async def _session(self, runtime: Runtime, websocket: WebSocket) -> None:
        """Serve one accepted-or-not connection of a started runtime."""
