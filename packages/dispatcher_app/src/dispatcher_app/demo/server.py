"""The demo's web server: the dispatcher app with its dashboard, on uvicorn, started and stopped in-process.

Why not ``uvicorn.run``: the demo runs its simulated agents and customers in the same event loop as the
server, and stops them *before* the server so that nothing reconnects while it shuts down. Signals belong to
the demo (:mod:`dispatcher_app.demo.runner`), so :class:`DemoServer` does not install uvicorn's handlers -
uvicorn's would also re-raise SIGINT after a clean stop, turning Ctrl-C into a non-zero exit status.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

from dispatcher_app.app import create_app, embedded_lifespan
from dispatcher_app.config import AppConfig
from dispatcher_app.dashboard import DASHBOARD_PATH, dashboard_routes

__all__ = ["CannotListen", "DemoServer", "bind_socket", "demo_app", "with_dashboard"]

#: Largest frame a client may send (the same limit as ``dispatcher serve``).
_WS_MAX_SIZE = 256 * 1024


class CannotListen(Exception):
    """The address cannot be bound (a port in use, an interface that does not exist)."""


def with_dashboard(dispatcher: Starlette) -> Starlette:
    """``dispatcher`` itself if it serves ``/dashboard`` already, else a host app serving the dashboard in
    front of it (running its lifespan), so the demo shows the dashboard whichever the app does."""
    if any(getattr(route, "path", None) == DASHBOARD_PATH for route in dispatcher.routes):
        return dispatcher
    return Starlette(routes=[*dashboard_routes(), Mount("", app=dispatcher)], lifespan=embedded_lifespan(dispatcher))


def demo_app(config: AppConfig) -> Starlette:
    """The dispatcher app of ``config``, with its dashboard."""
    return with_dashboard(create_app(config))


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening-ready TCP socket on ``host``:``port`` (0: a free port), bound before the server starts so
    that a port in use is reported at once and port 0 is known before printing the dashboard's address.
    :class:`CannotListen` when that fails."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise CannotListen(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return sock


class _QuietServer(uvicorn.Server):
    """uvicorn without its signal handlers (the demo owns SIGINT and SIGTERM)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class DemoServer:
    """``start`` serves the app on ``sock`` and returns once it accepts requests; ``stop`` shuts it down
    gracefully (open sockets are closed with 1012, the lifespan closes the store)."""

    def __init__(self, app: Starlette, sock: socket.socket) -> None:
        config = uvicorn.Config(
            app,
            lifespan="on",
            log_level="warning",
            ws="websockets-sansio",
            ws_max_size=_WS_MAX_SIZE,
            timeout_graceful_shutdown=5,
        )
        self._server = _QuietServer(config)
        self._sock = sock
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve(sockets=[self._sock]), name="demo-server")
        while not self._server.started:
            if self._task.done():
                await self._task  # start-up failed: raise its error
                raise RuntimeError("the server stopped during start-up")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task
        self._sock.close()

    def force(self) -> None:
        """A second Ctrl-C: stop waiting for open connections."""
        self._server.force_exit = True
