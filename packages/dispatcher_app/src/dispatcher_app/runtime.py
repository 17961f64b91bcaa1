"""The live services of a started app, as one typed value the routes read.

The container builds a :class:`Runtime` in the lifespan (that is when engines, pools and clients open); the
routes are created earlier, with the app, and hold a :class:`RuntimeHolder`. A request that arrives before
start-up or after shutdown - or in a host that mounted the app and forgot to run its lifespan - gets a clear
503 (:class:`NotStarted`) instead of an ``AttributeError``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dispatcher_adapters.whatsapp.media import MediaStream
from dispatcher_app.config import AppConfig
from dispatcher_app.hub import EventHub
from dispatcher_app.metrics import AppMetrics
from dispatcher_app.presence import InstancePresence
from dispatcher_app.replies import ReplySender, StatusHandler
from dispatcher_app.scheduler_runner import BackgroundRunner
from dispatcher_app.ws.router import EventRouter
from dispatcher_core import DispatcherOrchestrator, DispatcherScheduler
from dispatcher_core.messaging.media import InboundMedia
from dispatcher_core.ports import ApiKeyRepository, Clock, UnitOfWorkFactory

__all__ = [
    "MediaAccess",
    "NotStarted",
    "ReadinessCheck",
    "Runtime",
    "RuntimeHolder",
    "SendingHooks",
    "StatsSource",
]

#: A readiness probe: returns when the dependency answers, raises otherwise.
ReadinessCheck = Callable[[], Awaitable[object]]
#: A section of ``/admin/stats`` contributed by another component (replies, templates...).
StatsSource = Callable[[], Awaitable[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class MediaAccess:
    """Customers' media for ``GET /media/{media_id}``: ``find`` the recorded media (who sent it, in which
    message), ``open`` the download from Graph (the token stays in the sender)."""

    find: Callable[[str], Awaitable[InboundMedia | None]]
    open: Callable[[str], Awaitable[MediaStream]]


@dataclass(frozen=True, slots=True)
class SendingHooks:
    """What the app calls on the WhatsApp sender besides replies and statuses (``None`` when sending is not
    configured): ``record_inbound`` for each accepted customer message, ``recover`` at start-up and
    periodically (the outbox's stuck messages), ``send_due`` every tick (the sender loop: queued messages
    whose time has come, retries included), ``stats`` for ``/admin/stats`` sections over [start, end),
    ``on_webhook`` with every signed webhook body (template status updates), ``templates`` for
    ``/admin/templates`` (the approved-template catalogue, when one is kept), ``media`` for agents' media
    downloads."""

    record_inbound: Callable[[], None]
    recover: Callable[[], Awaitable[object]]
    stats: Callable[[datetime, datetime], Awaitable[dict[str, Any]]]
    send_due: Callable[[], Awaitable[object]]
    on_webhook: Callable[[object], Awaitable[object]] | None = None
    templates: Callable[[], Awaitable[list[dict[str, Any]]]] | None = None
    media: MediaAccess | None = None


class NotStarted(RuntimeError):
    """The app's lifespan has not run (or has ended): there is no store to talk to."""


@dataclass(frozen=True, slots=True)
class Runtime:
    config: AppConfig
    instance_id: str
    clock: Clock
    uow_factory: UnitOfWorkFactory
    orchestrator: DispatcherOrchestrator
    scheduler: DispatcherScheduler
    hub: EventHub
    router: EventRouter
    metrics: AppMetrics
    presence: InstancePresence
    runner: BackgroundRunner
    reply_sender: ReplySender
    status_handler: StatusHandler
    readiness: Mapping[str, ReadinessCheck]
    stats_sources: Mapping[str, StatsSource]
    sending: SendingHooks | None = None
    #: The public API's keys (``/api/v1``); ``None`` only in runtimes built by hand.
    api_keys: ApiKeyRepository | None = None


class RuntimeHolder:
    def __init__(self) -> None:
        self._runtime: Runtime | None = None

    def set(self, runtime: Runtime | None) -> None:
        self._runtime = runtime

    def get(self) -> Runtime:
        if self._runtime is None:
            raise NotStarted("the dispatcher app is not started: run its lifespan (see docs/embedding.md)")
        return self._runtime

    @property
    def started(self) -> bool:
        return self._runtime is not None
