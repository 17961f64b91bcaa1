"""The Starlette app factory: the routes of docs/api.md and the lifespan that opens and closes everything.

``create_app`` does no I/O: the store, Redis clients and background tasks start in the lifespan and stop
with it. The app can be served alone (``dispatcher serve``) or mounted inside another ASGI app; a host that
mounts it runs its lifespan with :func:`embedded_lifespan` (``docs/embedding.md``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute

from dispatcher_adapters.whatsapp.graph_versions import version_warning
from dispatcher_app.api import api_routes
from dispatcher_app.config import AppConfig
from dispatcher_app.container import Overrides, open_runtime
from dispatcher_app.controllers import admin_routes, health_routes
from dispatcher_app.dashboard import dashboard_routes
from dispatcher_app.logs import CorrelationMiddleware
from dispatcher_app.media import media_routes
from dispatcher_app.metrics import AppMetrics, LatencyMiddleware
from dispatcher_app.replies import ReplySender, StatusHandler
from dispatcher_app.runtime import NotStarted, Runtime, RuntimeHolder, StatsSource
from dispatcher_app.webhooks.route import WhatsAppWebhook
from dispatcher_app.ws.admin import AdminSocket
from dispatcher_app.ws.agent import AgentSocket
from dispatcher_core.errors import RetriesExhausted, StoreError
from dispatcher_core.ports import Clock, UnitOfWorkFactory

__all__ = ["create_app", "embedded_lifespan", "runtime_of"]

_log = logging.getLogger(__name__)

#: Close code sent to sockets when the server stops ("service restart": reconnect elsewhere).
_SHUTDOWN_CLOSE_CODE = 1012


async def _not_started(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": str(exc)}, status_code=503)


async def _store_unavailable(request: Request, exc: Exception) -> Response:
    _log.warning("store unavailable during %s %s: %s", request.method, request.url.path, exc)
    return JSONResponse({"error": "store unavailable, retry later"}, status_code=503)


def create_app(
    config: AppConfig,
    *,
    clock: Clock | None = None,
    uow_factory: UnitOfWorkFactory | None = None,
    reply_sender: ReplySender | None = None,
    status_handler: StatusHandler | None = None,
    stats_sources: Mapping[str, StatsSource] | None = None,
) -> Starlette:
    """The dispatcher as an ASGI app. Keyword arguments replace what the configuration would build: a
    controllable clock for tests, a backend's own store (``uow_factory``), the WhatsApp reply service...

    Each group of routes is mounted only when the configuration has its secrets (see :class:`AppConfig`):
    an embedding host that only receives webhooks gives only the two WhatsApp secrets."""
    holder = RuntimeHolder()
    metrics = AppMetrics()
    overrides = Overrides(
        clock=clock,
        uow_factory=uow_factory,
        reply_sender=reply_sender,
        status_handler=status_handler,
        stats_sources=dict(stats_sources or {}),
    )
    webhook = WhatsAppWebhook(holder)
    routes: list[BaseRoute] = [*health_routes(holder)]
    if config.whatsapp_verify_token:
        routes.append(Route("/webhooks/whatsapp", webhook.verify, methods=["GET"]))
    if config.whatsapp_app_secret:
        routes.append(Route("/webhooks/whatsapp", webhook.receive, methods=["POST"]))
    if config.admin_token:
        routes += [*admin_routes(holder), WebSocketRoute("/ws/admin", AdminSocket(holder).handle), *dashboard_routes()]
        routes += api_routes(holder)
    if config.agent_token_secret:
        routes.append(WebSocketRoute("/ws/agent", AgentSocket(holder).handle))
    if config.admin_token or config.agent_token_secret:
        routes += media_routes(holder)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_runtime(config, metrics, overrides) as runtime, _running(runtime):
            holder.set(runtime)
            try:
                yield
            finally:
                holder.set(None)

    app = Starlette(
        routes=routes,
        middleware=[Middleware(CorrelationMiddleware), Middleware(LatencyMiddleware, metrics=metrics)],
        lifespan=lifespan,
        exception_handlers={
            NotStarted: _not_started,
            StoreError: _store_unavailable,
            RetriesExhausted: _store_unavailable,
        },
    )
    app.state.dispatcher = holder
    return app


@asynccontextmanager
async def _running(runtime: Runtime) -> AsyncIterator[None]:
    """The background loop while the app serves; on the way out, sockets closed and the instance marked gone."""
    await runtime.presence.heartbeat()
    await runtime.runner.recover_outbox()
    config = runtime.config
    _log.info(
        "dispatcher instance %s started: %s store, %s events",
        runtime.instance_id,
        config.store_kind.value,
        "Redis" if config.events_url else "in-process (one instance only: set DISPATCHER_REDIS_URL for more)",
    )
    if config.whatsapp is None:
        _log.warning(
            "WhatsApp sending is not configured (WHATSAPP_ACCESS_TOKEN, WHATSAPP_PHONE_NUMBER_ID): agents' replies"
            " are recorded in the store (status 'recorded') and NOT sent to customers"
        )
    else:
        _log.info("replies are sent through the WhatsApp Cloud API at %s", config.whatsapp.messages_url)
        retiring = version_warning(config.whatsapp.api_version, runtime.clock.now().date())
        if retiring is not None:
            _log.warning("%s", retiring)
    loop = asyncio.create_task(runtime.runner.run(), name="dispatcher-background")
    try:
        yield
    finally:
        await runtime.router.close_all(_SHUTDOWN_CLOSE_CODE, "server shutting down")
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop
        try:
            await runtime.presence.leave()
        except Exception:  # the store is already gone: the other instances will see the heartbeat expire
            _log.warning("could not mark instance %s as stopped", runtime.instance_id, exc_info=True)


def runtime_of(app: Starlette) -> Runtime:
    """The running services of an app made by :func:`create_app` (tests, embedding hosts)."""
    holder = app.state.dispatcher
    if not isinstance(holder, RuntimeHolder):
        raise TypeError("not an app made by dispatcher_app.create_app")
    return holder.get()


def embedded_lifespan(*apps: Starlette) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    """A lifespan for a host app that mounts dispatcher apps: Starlette does not run mounted apps'
    lifespans, so the host runs theirs inside its own."""

    @asynccontextmanager
    async def lifespan(host: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for app in apps:
                await stack.enter_async_context(app.router.lifespan_context(app))
            yield

    return lifespan
