"""The composition root (seed: ``dispatcher.module.ts``): the only module that names concrete adapters.

It wires, and does nothing else: no business logic, no routes. :class:`DispatcherContainer` is a
dependency-injector container whose store and event transport are chosen from the configuration
(``docs/configuration.md``); stores, pools and clients are ``Resource`` providers, opened when the runtime
is first resolved - in the app's lifespan - and closed by :func:`open_runtime` on the way out.

dependency-injector's providers are dynamically typed; that weakness stays in this module:
:func:`open_runtime` hands the rest of the app a fully typed :class:`~dispatcher_app.runtime.Runtime`.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dependency_injector import containers, providers
from prometheus_client import CollectorRegistry

from dispatcher_adapters.memory import (
    MemoryApiKeys,
    MemoryMediaIndex,
    MemoryPurge,
    MemoryStore,
    MemoryTemplateCatalogue,
    SystemClock,
)
from dispatcher_adapters.sql import SqlPurge, SqlStore, SqlThroughput
from dispatcher_adapters.whatsapp.service import WhatsAppSending
from dispatcher_app.config import AppConfig, StoreKind
from dispatcher_app.controllers.health import store_probe
from dispatcher_app.extras import require_extra
from dispatcher_app.hub import (
    CarriedByStore,
    EnvelopeHandler,
    EventSubscriber,
    JournaledPublisher,
    LocalEventHub,
    SubscribedEventHub,
)
from dispatcher_app.metrics import AppMetrics, EventListener, ObservedPublisher
from dispatcher_app.presence import InstancePresence
from dispatcher_app.replies import RecordingReplySender, ReplySender, StatusHandler, StatusRelay
from dispatcher_app.runtime import ReadinessCheck, Runtime, SendingHooks, StatsSource
from dispatcher_app.scheduler_runner import BackgroundRunner
from dispatcher_app.sending import (
    CloudReplySender,
    CloudStatusHandler,
    RegistryCollector,
    sending_hooks,
    settled_publisher,
)
from dispatcher_app.sqlite_guard import single_process_sqlite
from dispatcher_app.ws.router import EventRouter
from dispatcher_core import AssignmentService, DispatcherOrchestrator, DispatcherScheduler
from dispatcher_core.ports import (
    ApiKeyRepository,
    Clock,
    ConversationPurge,
    EventPublisher,
    MediaIndex,
    TemplateCatalogue,
    ThroughputReservations,
    UnitOfWorkFactory,
)
from dispatcher_core.services.retention import RetentionJob

if TYPE_CHECKING:  # the redis extra: imported where a Redis backend is configured, nowhere else
    from redis.asyncio import Redis

    from dispatcher_adapters.redis import RedisStore

__all__ = ["DispatcherContainer", "Overrides", "open_api_keys", "open_runtime"]


@dataclass(frozen=True, slots=True)
class Overrides:
    """What a test or an embedding backend may supply instead of the configured defaults."""

    clock: Clock | None = None
    #: Bypasses the configured store entirely (the backend's own adapter, or a fault-injecting fake).
    uow_factory: UnitOfWorkFactory | None = None
    reply_sender: ReplySender | None = None
    status_handler: StatusHandler | None = None
    stats_sources: Mapping[str, StatsSource] = field(default_factory=dict)


def _instance_id(config: AppConfig) -> str:
    return config.instance_id or uuid.uuid4().hex[:12]


def _store_kind(config: AppConfig) -> str:
    return config.store_kind.value


def _events_kind(config: AppConfig) -> str:
    """How events cross instances: Redis when configured (``DISPATCHER_REDIS_URL``, or Redis as the store), else
    PostgreSQL itself (``LISTEN/NOTIFY``) when it is the store, else they stay in this process."""
    if config.events_url is not None:
        return "redis"
    return "postgresql" if config.store_kind is StoreKind.POSTGRESQL else "local"


async def _memory_store() -> AsyncIterator[MemoryStore]:
    yield MemoryStore()


async def _sql_store(config: AppConfig) -> AsyncIterator[SqlStore]:
    """SQLite migrates itself and serves one process (a second one refuses to start); PostgreSQL must be at head
    already (``dispatcher db upgrade``) and carries the events when Redis does not."""
    with contextlib.ExitStack() as guard:
        if config.store_kind is StoreKind.SQLITE:
            guard.enter_context(single_process_sqlite(config.database_url))
        store = await SqlStore.create(config.database_url, carry_events=_events_kind(config) == "postgresql")
        try:
            yield store
        finally:
            await store.close()


async def _redis_client(url: str) -> AsyncIterator[Redis]:
    require_extra("redis", "a redis:// URL")
    from redis.asyncio import Redis  # noqa: PLC0415  - optional (the redis extra)

    client = Redis.from_url(url, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


def _redis_store(client: Redis, config: AppConfig) -> RedisStore:
    from dispatcher_adapters.redis import RedisStore  # noqa: PLC0415  - optional (the redis extra)

    # Loads ride along with the first read of an incoming message exactly when picking an agent reads them.
    picks = AssignmentService(config.dispatcher.routing_policy, config.dispatcher.agent_capacity)
    return RedisStore(client, prefix=config.redis_prefix, prefetch_loads=picks.needs_loads)


async def _redis_hub(
    client: Redis, config: AppConfig, router: EventRouter, uow_factory: UnitOfWorkFactory
) -> AsyncIterator[SubscribedEventHub]:
    from dispatcher_adapters.redis import RedisEventPublisher, RedisEventSubscriber  # noqa: PLC0415  - redis extra

    def make_subscriber(
        on_agent_event: EnvelopeHandler,
        resync: Callable[[str], Awaitable[None]],
        on_admin_event: EnvelopeHandler,
        on_admin_resync: Callable[[], Awaitable[None]],
    ) -> EventSubscriber:
        return RedisEventSubscriber(
            client,
            prefix=config.redis_prefix,
            on_agent_event=on_agent_event,
            resync=resync,
            on_admin_event=on_admin_event,
            on_admin_resync=on_admin_resync,
        )

    hub = SubscribedEventHub(
        router=router,
        publisher=RedisEventPublisher(client, prefix=config.redis_prefix),
        make_subscriber=make_subscriber,
        uow_factory=uow_factory,
    )
    await hub.start()
    try:
        yield hub
    finally:
        await hub.aclose()


async def _postgres_hub(
    store: SqlStore, instance_id: str, router: EventRouter, uow_factory: UnitOfWorkFactory
) -> AsyncIterator[SubscribedEventHub]:
    def make_subscriber(
        on_agent_event: EnvelopeHandler,
        resync: Callable[[str], Awaitable[None]],
        on_admin_event: EnvelopeHandler,
        on_admin_resync: Callable[[], Awaitable[None]],
    ) -> EventSubscriber:
        return store.event_subscriber(
            on_agent_event=on_agent_event,
            resync=resync,
            on_admin_event=on_admin_event,
            on_admin_resync=on_admin_resync,
            application_name=f"dispatcher-events {instance_id}",
        )

    hub = SubscribedEventHub(
        router=router, publisher=CarriedByStore(), make_subscriber=make_subscriber, uow_factory=uow_factory
    )
    await hub.start()
    try:
        yield hub
    finally:
        await hub.aclose()


def _readiness(uow_factory: UnitOfWorkFactory) -> dict[str, ReadinessCheck]:
    return {"store": store_probe(uow_factory)}


def _readiness_with_redis(uow_factory: UnitOfWorkFactory, events_client: Redis) -> dict[str, ReadinessCheck]:
    return {"store": store_probe(uow_factory), "events": events_client.ping}


def _stats_sources(outbox: RecordingReplySender, extra: Mapping[str, StatsSource]) -> dict[str, StatsSource]:
    return {"replies": outbox.stats, **extra}


async def _cloud_replies_stats() -> dict[str, Any]:
    return {"sender": "whatsapp-cloud-api"}


def _cloud_stats_sources(extra: Mapping[str, StatsSource]) -> dict[str, StatsSource]:
    return {"replies": _cloud_replies_stats, **extra}


def _throughput_kind(config: AppConfig) -> str:
    """Where the send slots every instance shares live: Redis when configured (events or store), else
    PostgreSQL; SQLite and memory are one machine: the process's own limiter."""
    if config.events_url is not None:
        return "redis_events"
    kind = config.store_kind.value
    if kind in ("postgresql", "redis"):
        return kind
    return "local"


def _sending_kind(config: AppConfig) -> str:
    """``cloud`` when ``WHATSAPP_ACCESS_TOKEN`` and ``WHATSAPP_PHONE_NUMBER_ID`` are set, else ``offline``."""
    return "offline" if config.whatsapp is None else "cloud"


def _catalogue_kind(config: AppConfig) -> str:
    """Where the approved-template catalogue lives: the store's kind, or ``none`` without
    ``WHATSAPP_BUSINESS_ACCOUNT_ID`` (no sync, no catalogue check)."""
    if config.whatsapp is None or config.whatsapp.business_account_id is None:
        return "none"
    return config.store_kind.value


def _media_kind(config: AppConfig) -> str:
    """Where customers' media ids are recorded: the store's kind, or ``none`` without WhatsApp sending."""
    return "none" if config.whatsapp is None else config.store_kind.value


def _sql_media(store: SqlStore) -> MediaIndex:
    return store.media_index()


def _redis_media(client: Redis, config: AppConfig) -> MediaIndex:
    from dispatcher_adapters.redis import RedisMediaIndex  # noqa: PLC0415  - optional (the redis extra)

    return RedisMediaIndex(client, prefix=config.redis_prefix)


def _sql_api_keys(store: SqlStore) -> ApiKeyRepository:
    return store.api_keys()


def _redis_api_keys(client: Redis, config: AppConfig) -> ApiKeyRepository:
    from dispatcher_adapters.redis import RedisApiKeys  # noqa: PLC0415  - optional (the redis extra)

    return RedisApiKeys(client, prefix=config.redis_prefix)


def _sql_templates(store: SqlStore) -> TemplateCatalogue:
    return store.template_catalogue()


def _redis_templates(client: Redis, config: AppConfig) -> TemplateCatalogue:
    from dispatcher_adapters.redis import RedisTemplateCatalogue  # noqa: PLC0415  - optional (the redis extra)

    return RedisTemplateCatalogue(client, prefix=config.redis_prefix)


async def _whatsapp_sending(
    config: AppConfig,
    *,
    clock: Clock,
    uow_factory: UnitOfWorkFactory,
    orchestrator: DispatcherOrchestrator,
    metrics: AppMetrics,
    listeners: list[EventListener],
    catalogue: TemplateCatalogue | None = None,
    media_index: MediaIndex | None = None,
    publisher: EventPublisher,
    shared_throughput: ThroughputReservations | None,
) -> AsyncIterator[WhatsAppSending]:
    """The Cloud API sender on the store's outbox (shared by every instance). Send outcomes are published as
    ``message.status`` events. Its metrics live on a registry of their own, exposed through the app's for as
    long as the sender lives; its maintenance (template sync, expired media ids) runs at start and every
    ``WHATSAPP_TEMPLATE_SYNC_INTERVAL`` meanwhile."""
    settings = config.whatsapp
    if settings is None:  # the selector only builds this when configured
        raise RuntimeError("WhatsApp sending is not configured")
    registry = CollectorRegistry()
    sending = WhatsAppSending(
        settings,
        clock=clock,
        uow_factory=uow_factory,
        orchestrator=orchestrator,
        registry=registry,
        catalogue=catalogue,
        media_index=media_index,
        shared_throughput=shared_throughput,
    )
    sending.delivery.on_settled = settled_publisher(publisher)
    collector = RegistryCollector(registry)
    metrics.registry.register(collector)
    listeners.append(sending.analytics.on_domain_event)
    maintenance = asyncio.create_task(sending.maintain(), name="whatsapp-maintenance")
    try:
        yield sending
    finally:
        maintenance.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await maintenance
        listeners.remove(sending.analytics.on_domain_event)
        metrics.registry.unregister(collector)
        await sending.aclose()


def _recover_of(hooks: SendingHooks | None) -> Callable[[], Awaitable[object]] | None:
    return None if hooks is None else hooks.recover


def _send_due_of(hooks: SendingHooks | None) -> Callable[[], Awaitable[object]] | None:
    return None if hooks is None else hooks.send_due


def _retention_job(
    config: AppConfig, uow_factory: UnitOfWorkFactory, purge: ConversationPurge, clock: Clock
) -> Callable[[], Awaitable[object]] | None:
    if config.retention is None:
        return None
    return RetentionJob(uow_factory=uow_factory, purge=purge, clock=clock, keep=config.retention).run


def _redis_purge(store: RedisStore) -> ConversationPurge:
    from dispatcher_adapters.redis import RedisPurge  # noqa: PLC0415  - optional (the redis extra)

    return RedisPurge(store)


def _redis_throughput(client: Redis, prefix: str) -> ThroughputReservations:
    from dispatcher_adapters.redis import RedisThroughput  # noqa: PLC0415  - optional (the redis extra)

    return RedisThroughput(client, prefix=prefix)


class DispatcherContainer(containers.DeclarativeContainer):
    """Wiring only. ``config`` and ``metrics`` are given; everything else is derived."""

    config = providers.Dependency(instance_of=AppConfig)
    metrics = providers.Dependency(instance_of=AppMetrics)
    extra_stats: providers.Object[dict[str, StatsSource]] = providers.Object({})

    clock = providers.Singleton(SystemClock)
    instance_id = providers.Singleton(_instance_id, config)
    router = providers.Singleton(EventRouter)

    events_kind = providers.Callable(_events_kind, config)
    store_client = providers.Resource(_redis_client, providers.Callable(lambda config: config.database_url, config))
    events_client = providers.Resource(_redis_client, providers.Callable(lambda config: config.events_url, config))

    store = providers.Selector(
        providers.Callable(_store_kind, config),
        memory=providers.Resource(_memory_store),
        sqlite=providers.Resource(_sql_store, config),
        postgresql=providers.Resource(_sql_store, config),
        redis=providers.Singleton(_redis_store, store_client, config),
    )
    uow_factory = providers.Callable(lambda store: store.unit_of_work, store)
    purge = providers.Selector(
        providers.Callable(_store_kind, config),
        memory=providers.Singleton(MemoryPurge, store),
        sqlite=providers.Singleton(SqlPurge, store),
        postgresql=providers.Singleton(SqlPurge, store),
        redis=providers.Singleton(_redis_purge, store),
    )
    retention_job = providers.Callable(_retention_job, config, uow_factory, purge, clock)

    hub = providers.Selector(
        events_kind,
        local=providers.Singleton(LocalEventHub, router),
        redis=providers.Resource(_redis_hub, events_client, config, router, uow_factory),
        postgresql=providers.Resource(_postgres_hub, store, instance_id, router, uow_factory),
    )
    event_listeners: providers.Singleton[list[EventListener]] = providers.Singleton(list)
    publisher = providers.Singleton(ObservedPublisher, hub.provided.publisher, metrics, event_listeners)
    #: For events outside an orchestrator cycle (outbound statuses): journaled first, so PostgreSQL carries them.
    status_publisher = providers.Singleton(JournaledPublisher, uow_factory, publisher)

    dispatcher_settings = providers.Callable(lambda config: config.dispatcher, config)
    orchestrator = providers.Singleton(
        DispatcherOrchestrator,
        uow_factory=uow_factory,
        publisher=publisher,
        clock=clock,
        settings=dispatcher_settings,
    )
    scheduler = providers.Singleton(
        DispatcherScheduler,
        orchestrator=orchestrator,
        uow_factory=uow_factory,
        clock=clock,
        settings=dispatcher_settings,
    )
    presence = providers.Singleton(
        InstancePresence,
        instance_id=instance_id,
        uow_factory=uow_factory,
        orchestrator=orchestrator,
        router=router,
        clock=clock,
        ttl=providers.Callable(lambda config: config.presence_ttl, config),
    )
    redis_prefix = providers.Callable(lambda config: config.redis_prefix, config)
    shared_throughput = providers.Selector(
        providers.Callable(_throughput_kind, config),
        redis_events=providers.Singleton(_redis_throughput, events_client, redis_prefix),
        redis=providers.Singleton(_redis_throughput, store_client, redis_prefix),
        postgresql=providers.Singleton(SqlThroughput, store),
        local=providers.Object(None),
    )
    sending_kind = providers.Callable(_sending_kind, config)
    template_catalogue = providers.Selector(
        providers.Callable(_catalogue_kind, config),
        none=providers.Object(None),
        memory=providers.Singleton(MemoryTemplateCatalogue),
        sqlite=providers.Callable(_sql_templates, store),
        postgresql=providers.Callable(_sql_templates, store),
        redis=providers.Singleton(_redis_templates, store_client, config),
    )
    media_index = providers.Selector(
        providers.Callable(_media_kind, config),
        none=providers.Object(None),
        memory=providers.Singleton(MemoryMediaIndex),
        sqlite=providers.Callable(_sql_media, store),
        postgresql=providers.Callable(_sql_media, store),
        redis=providers.Singleton(_redis_media, store_client, config),
    )
    #: The public API's keys, in the configured store (hashed; see docs/api.md).
    api_keys = providers.Selector(
        providers.Callable(_store_kind, config),
        memory=providers.Singleton(MemoryApiKeys),
        sqlite=providers.Callable(_sql_api_keys, store),
        postgresql=providers.Callable(_sql_api_keys, store),
        redis=providers.Singleton(_redis_api_keys, store_client, config),
    )
    whatsapp = providers.Selector(
        sending_kind,
        cloud=providers.Resource(
            _whatsapp_sending,
            config,
            clock=clock,
            uow_factory=uow_factory,
            orchestrator=orchestrator,
            metrics=metrics,
            listeners=event_listeners,
            catalogue=template_catalogue,
            media_index=media_index,
            publisher=status_publisher,
            shared_throughput=shared_throughput,
        ),
        offline=providers.Object(None),
    )
    sending_hooks = providers.Selector(
        sending_kind,
        cloud=providers.Singleton(
            sending_hooks, whatsapp, providers.Callable(lambda config: config.outbox_lease, config)
        ),
        offline=providers.Object(None),
    )
    runner = providers.Singleton(
        BackgroundRunner,
        scheduler=scheduler,
        presence=presence,
        clock=clock,
        timeout_check_interval=providers.Callable(lambda config: config.dispatcher.timeout_check_interval, config),
        tick_interval=providers.Callable(lambda config: config.tick_interval, config),
        metrics=metrics,
        recover=providers.Callable(_recover_of, sending_hooks),
        send_due=providers.Callable(_send_due_of, sending_hooks),
        recovery_interval=providers.Callable(lambda config: config.outbox_lease, config),
        retention=retention_job,
    )

    outbox = providers.Singleton(RecordingReplySender, orchestrator, uow_factory)
    reply_sender = providers.Selector(
        sending_kind,
        cloud=providers.Singleton(CloudReplySender, whatsapp),
        offline=providers.Singleton(lambda outbox: outbox, outbox),
    )
    status_handler = providers.Selector(
        sending_kind,
        cloud=providers.Singleton(CloudStatusHandler, whatsapp, publisher=status_publisher),
        offline=providers.Singleton(StatusRelay, uow_factory=uow_factory, publisher=status_publisher),
    )
    readiness = providers.Selector(
        events_kind,
        local=providers.Callable(_readiness, uow_factory),
        postgresql=providers.Callable(_readiness, uow_factory),
        redis=providers.Callable(_readiness_with_redis, uow_factory, events_client),
    )
    stats_sources = providers.Selector(
        sending_kind,
        cloud=providers.Callable(_cloud_stats_sources, extra_stats),
        offline=providers.Callable(_stats_sources, outbox, extra_stats),
    )

    runtime = providers.Singleton(
        Runtime,
        config=config,
        instance_id=instance_id,
        clock=clock,
        uow_factory=uow_factory,
        orchestrator=orchestrator,
        scheduler=scheduler,
        hub=hub,
        router=router,
        metrics=metrics,
        presence=presence,
        runner=runner,
        reply_sender=reply_sender,
        status_handler=status_handler,
        readiness=readiness,
        stats_sources=stats_sources,
        sending=sending_hooks,
        api_keys=api_keys,
    )


def _override(provider: Any, value: object | None) -> None:
    if value is not None:
        provider.override(providers.Object(value))


@asynccontextmanager
async def open_runtime(
    config: AppConfig, metrics: AppMetrics, overrides: Overrides | None = None
) -> AsyncIterator[Runtime]:
    """Open the configured stores and clients, build the runtime, and close everything on exit."""
    overrides = overrides or Overrides()
    container = DispatcherContainer(config=config, metrics=metrics)
    _override(container.clock, overrides.clock)
    _override(container.uow_factory, overrides.uow_factory)
    _override(container.reply_sender, overrides.reply_sender)
    _override(container.status_handler, overrides.status_handler)
    _override(container.extra_stats, dict(overrides.stats_sources))
    if overrides.uow_factory is not None:
        # A backend's own store replaces the configured one: the catalogue and the media index must not open
        # the configured store behind its back, so they stay in this process's memory.
        _override(container.template_catalogue, MemoryTemplateCatalogue())
        _override(container.media_index, MemoryMediaIndex())
        # ...and the retention purge, which could only purge the configured store: the backend keeps its own.
        container.retention_job.override(providers.Object(None))
        _override(container.api_keys, MemoryApiKeys())
    try:
        resolved: Any = container.runtime()
        runtime: Runtime = await resolved if inspect.isawaitable(resolved) else resolved
        yield runtime
    finally:
        shutdown: Any = container.shutdown_resources()
        if inspect.isawaitable(shutdown):
            await shutdown


@asynccontextmanager
async def open_api_keys(config: AppConfig) -> AsyncIterator[ApiKeyRepository]:
    """The configured store's API keys alone (the ``dispatcher api-key`` commands), closed on exit."""
    container = DispatcherContainer(config=config, metrics=AppMetrics())
    try:
        resolved: Any = container.api_keys()
        keys: ApiKeyRepository = await resolved if inspect.isawaitable(resolved) else resolved
        yield keys
    finally:
        shutdown: Any = container.shutdown_resources()
        if inspect.isawaitable(shutdown):
            await shutdown
