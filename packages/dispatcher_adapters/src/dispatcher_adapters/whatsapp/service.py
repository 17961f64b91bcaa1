"""The whole sending side assembled from :class:`WhatsAppSettings`: what the app's lifespan builds and closes.

It only wires this package's pieces together (the app stays the composition root: it chooses the outbox
adapter, the clock, the registry and the orchestrator). The app then:

* answers an agent's ``reply`` frame with ``await sending.replies.reply(...)``;
* hands each status webhook body to ``await sending.statuses.handle_payload(body)`` and sends a
  ``message.status`` frame to each returned routing's ``agent_id``;
* calls ``sending.analytics.record_inbound()`` for every accepted webhook message and subscribes
  ``sending.analytics.on_domain_event`` to the dispatcher's event publisher; ``/admin/stats`` returns
  ``await sending.analytics.report(start, end)``;
* exposes ``sending.metrics.registry`` on ``/metrics``;
* runs ``await sending.delivery.recover()`` at start-up (and, say, every few minutes);
* runs ``await sending.maintain()`` for its lifetime: at start and then every ``WHATSAPP_TEMPLATE_SYNC_INTERVAL``,
  the template catalogue is synced (when ``WHATSAPP_BUSINESS_ACCOUNT_ID`` is set and a catalogue is given;
  template sends are then checked against it before they are queued) and media ids older than Meta's 7 days
  are forgotten;
* hands each webhook body to ``await sending.handle_webhook(body)`` (template status updates, and the media
  ids of customers' media messages recorded in ``media_index`` when one is given), and serves agents' media
  downloads with ``sending.media.open(media_id)`` (:class:`~.media.MediaDownloads`);
* calls ``await sending.aclose()`` at shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta
from types import TracebackType
from typing import Self

import httpx
from prometheus_client import CollectorRegistry

from dispatcher_adapters.whatsapp.analytics import WhatsAppAnalytics
from dispatcher_adapters.whatsapp.bulk import BulkSender
from dispatcher_adapters.whatsapp.cloud_api import CloudApiSender
from dispatcher_adapters.whatsapp.delivery import OutboxDelivery
from dispatcher_adapters.whatsapp.media import MediaDownloads, parse_inbound_media
from dispatcher_adapters.whatsapp.metrics import WhatsAppMetrics
from dispatcher_adapters.whatsapp.reply import ReplyService
from dispatcher_adapters.whatsapp.resilient_sender import ResilientSender, Sleeper
from dispatcher_adapters.whatsapp.settings import WhatsAppSettings
from dispatcher_adapters.whatsapp.status_webhook import StatusWebhookHandler
from dispatcher_adapters.whatsapp.templates import TemplateSync
from dispatcher_core.messaging.command_bus import CommandBus
from dispatcher_core.messaging.event_dispatcher import EventDispatcher
from dispatcher_core.messaging.outbox_store import UnitOfWorkOutbox
from dispatcher_core.messaging.template_check import TemplateCatalogueCheck
from dispatcher_core.orchestrator import DispatcherOrchestrator
from dispatcher_core.ports.clock import Clock
from dispatcher_core.ports.media_index import MediaIndex
from dispatcher_core.ports.outbox_repository import OutboxRepository
from dispatcher_core.ports.template_catalogue import TemplateCatalogue
from dispatcher_core.ports.throughput_reservations import ThroughputReservations
from dispatcher_core.ports.unit_of_work import UnitOfWorkFactory

__all__ = ["MEDIA_ID_LIFETIME", "WhatsAppSending"]

_log = logging.getLogger(__name__)

#: Meta's media ids from webhooks expire after 7 days: recorded ones are forgotten then.
MEDIA_ID_LIFETIME = timedelta(days=7)


class WhatsAppSending:
    def __init__(
        self,
        settings: WhatsAppSettings,
        *,
        clock: Clock,
        uow_factory: UnitOfWorkFactory,
        orchestrator: DispatcherOrchestrator,
        registry: CollectorRegistry | None = None,
        sleep: Sleeper = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
        random_source: Callable[[], float] | None = None,
        catalogue: TemplateCatalogue | None = None,
        media_index: MediaIndex | None = None,
        outbox: OutboxRepository | None = None,
        shared_throughput: ThroughputReservations | None = None,
    ) -> None:
        """``outbox``: where the sender reads and moves messages; by default the store's own
        (``uow_factory``), which is where agents' replies are written. Only tests of the sender alone pass
        another one."""
        outbox = outbox if outbox is not None else UnitOfWorkOutbox(uow_factory)
        self.outbox = outbox
        self.settings = settings
        self.metrics = WhatsAppMetrics(registry)
        self.cloud_api = CloudApiSender.from_settings(settings, transport=transport)
        #: Graph reads (template list, media): a client of their own, with the same timeout.
        self.graph = httpx.AsyncClient(timeout=settings.request_timeout.total_seconds(), transport=transport)
        self.media = MediaDownloads(
            self.graph, access_token=settings.access_token, base_url=settings.api_base_url, clock=clock
        )
        self.media_index = media_index
        self._clock = clock
        self.templates: TemplateSync | None = None
        if catalogue is not None and settings.business_account_id is not None:
            self.templates = TemplateSync(
                self.graph,
                access_token=settings.access_token,
                base_url=settings.api_base_url,
                business_account_id=settings.business_account_id,
                catalogue=catalogue,
                clock=clock,
            )
        self.sender = ResilientSender.from_settings(
            self.cloud_api,
            settings,
            clock=clock,
            sleep=sleep,
            metrics=self.metrics,
            random_source=random_source,
            shared_throughput=shared_throughput,
        )
        self.events = EventDispatcher()
        self.metrics.subscribe(self.events)
        self.bus = CommandBus(observer=self.metrics.observe_command)
        self.delivery = OutboxDelivery(
            outbox=outbox,
            sender=self.sender,
            events=self.events,
            clock=clock,
            default_number_id=settings.phone_number_id,
            template_check=TemplateCatalogueCheck(self.templates.catalogue) if self.templates is not None else None,
        )
        self.delivery.register(self.bus)
        self.bulk = BulkSender(self.delivery, clock=clock, concurrency=settings.bulk_concurrency, sleep=sleep)
        self.bulk.register(self.bus)
        self.replies = ReplyService(orchestrator=orchestrator, delivery=self.delivery)
        self.statuses = StatusWebhookHandler(outbox=outbox, events=self.events, clock=clock, uow_factory=uow_factory)
        self.analytics = WhatsAppAnalytics(outbox, clock)
        self.analytics.subscribe(self.events)

    async def maintain(self) -> None:
        """Until cancelled: sync the template catalogue and forget expired media ids, now and then every
        ``template_sync_interval``. Failures are logged; the next round tries again."""
        while True:
            if self.templates is not None:
                await self.templates.logged_sync()
            if self.media_index is not None:
                try:
                    await self.media_index.purge(self._clock.now() - MEDIA_ID_LIFETIME)
                except Exception as exc:  # the store is down: the next round purges
                    _log.warning("could not forget expired WhatsApp media ids: %s", exc)
            await asyncio.sleep(self.settings.template_sync_interval.total_seconds())

    async def handle_webhook(self, payload: object) -> None:
        """What the sender takes from a signed webhook body besides statuses: template status updates, and
        the media ids customers' messages announce (recorded before the messages themselves are processed;
        a media is only ever served for a message found in the requesting agent's conversation)."""
        if self.templates is not None:
            await self.templates.handle_webhook(payload)
        if self.media_index is not None:
            for media in parse_inbound_media(payload, self._clock.now()):
                await self.media_index.record(media)

    async def aclose(self) -> None:
        """Stop bulk jobs (their unsent messages stay queued for recovery) and close the HTTP client."""
        try:
            await self.bulk.aclose()
            if self.templates is not None:
                await self.templates.aclose()
        finally:
            await self.graph.aclose()
            await self.cloud_api.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
