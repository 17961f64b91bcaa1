"""``/healthz`` (the process answers), ``/readyz`` (its stores answer) and ``/metrics`` (Prometheus text).

``/readyz`` runs every readiness check of the runtime (the store, Redis when configured) with a short
timeout, so a load balancer stops sending traffic to an instance whose store is unreachable; ``/healthz``
touches nothing, so an orchestrator does not restart an instance only because the database blinked.
"""

from __future__ import annotations

import asyncio
import logging

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dispatcher_app.runtime import ReadinessCheck, RuntimeHolder
from dispatcher_core.ports import UnitOfWorkFactory

__all__ = ["health_routes", "store_probe"]

_log = logging.getLogger(__name__)
_CHECK_TIMEOUT = 2.0


def store_probe(uow_factory: UnitOfWorkFactory) -> ReadinessCheck:
    """Readiness of any store, through its ports: open a unit of work and read the queue."""

    async def probe() -> None:
        async with uow_factory() as uow:
            await uow.queue.list()

    return probe


class HealthController:
    def __init__(self, holder: RuntimeHolder) -> None:
        self._holder = holder

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "started": self._holder.started})

    async def readyz(self, request: Request) -> Response:
        runtime = self._holder.get()
        checks: dict[str, str] = {}
        for name, check in runtime.readiness.items():
            try:
                await asyncio.wait_for(check(), _CHECK_TIMEOUT)
                checks[name] = "ok"
            except Exception as exc:  # any failure of a dependency means "not ready", with the reason shown
                checks[name] = f"failed: {type(exc).__name__}: {exc}"[:300]
        ready = all(result == "ok" for result in checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", "instance_id": runtime.instance_id, "checks": checks},
            status_code=200 if ready else 503,
        )

    async def metrics(self, request: Request) -> Response:
        """Refresh the store-wide gauges, then render. A store failure leaves them at their last value."""
        runtime = self._holder.get()
        try:
            async with runtime.uow_factory() as uow:
                runtime.metrics.pending_conversations.set(await uow.conversations.count_pending())
                runtime.metrics.pending_messages.set(await uow.pending.count())
                runtime.metrics.queue_size.set(len(await uow.queue.list()))
        except Exception:  # metrics must render even when the store is down; readyz reports that
            runtime.metrics.background_errors.labels("metrics").inc()
            _log.warning("could not refresh store gauges for /metrics", exc_info=True)
        return Response(runtime.metrics.render(), media_type=CONTENT_TYPE_LATEST)


def health_routes(holder: RuntimeHolder) -> list[Route]:
    controller = HealthController(holder)
    return [
        Route("/healthz", controller.healthz, methods=["GET"]),
        Route("/readyz", controller.readyz, methods=["GET"]),
        Route("/metrics", controller.metrics, methods=["GET"]),
    ]
