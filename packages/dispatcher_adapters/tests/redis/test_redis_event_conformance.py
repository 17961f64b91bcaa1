"""Redis pub/sub with per-agent numbering passes the event port's conformance suite (more specific cases,
the publisher's own connection killed among them, are in ``test_redis_events.py``)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import pytest
from redis.asyncio import Redis

from dispatcher_adapters.redis import RedisEventPublisher, RedisEventSubscriber, RedisStore
from dispatcher_core.events import DomainEvent
from dispatcher_core.ports import EnvelopeHandler, EventSubscriber
from dispatcher_core.testing.conformance import EventTransportConformance, EventTransportHarness

from .conftest import kill_connections

pytestmark = pytest.mark.redis


class RedisHarness:
    can_lose_connection = True

    def __init__(self, url: str, admin: Redis, prefix: str) -> None:
        self._url = url
        self._admin = admin
        self._prefix = prefix
        self.store = RedisStore(admin, prefix=prefix)
        self.publisher = RedisEventPublisher(admin, prefix=prefix)
        self.clients: dict[int, tuple[Redis, str]] = {}

    async def commit(self, events: Sequence[DomainEvent]) -> None:
        async with self.store.unit_of_work() as uow:
            await uow.events.record(events)
            await uow.commit()
        await self.publisher.publish(events)

    async def roll_back(self, events: Sequence[DomainEvent]) -> None:
        async with self.store.unit_of_work() as uow:
            await uow.events.record(events)

    def subscriber(
        self,
        *,
        on_agent_event: EnvelopeHandler,
        resync: Callable[[str], Awaitable[None]],
        on_admin_event: EnvelopeHandler,
        on_admin_resync: Callable[[], Awaitable[None]],
    ) -> EventSubscriber:
        name = f"{self._prefix}-sub-{uuid.uuid4().hex[:6]}"
        client = Redis.from_url(self._url, decode_responses=True, client_name=name)
        subscriber = RedisEventSubscriber(
            client,
            prefix=self._prefix,
            on_agent_event=on_agent_event,
            resync=resync,
            on_admin_event=on_admin_event,
            on_admin_resync=on_admin_resync,
        )
        self.clients[id(subscriber)] = (client, name)
        return subscriber

    async def lose_connection(self, subscriber: EventSubscriber) -> None:
        _, name = self.clients[id(subscriber)]
        assert await kill_connections(self._admin, name) >= 1

    async def aclose(self) -> None:
        for client, _ in self.clients.values():
            await client.aclose()


class TestRedisEventTransport(EventTransportConformance):
    @pytest.fixture
    async def transport(self, redis_url: str, redis_client: Redis, prefix: str) -> AsyncIterator[EventTransportHarness]:
        harness = RedisHarness(redis_url, redis_client, prefix)
        yield harness
        await harness.aclose()
