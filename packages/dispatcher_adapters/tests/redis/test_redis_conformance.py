"""The core's conformance suite, on Redis, in both deduplication modes: the adapter is correct when this
passes."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from redis.asyncio import Redis

from dispatcher_adapters.redis import RedisPurge, RedisStore, RedisThroughput
from dispatcher_core.ports import ConversationPurge, ThroughputReservations, UnitOfWorkFactory
from dispatcher_core.testing.conformance import (
    ConversationPurgeConformance,
    StoreConformance,
    ThroughputReservationsConformance,
)

pytestmark = pytest.mark.redis


class TestRedisStore(StoreConformance):
    @pytest.fixture
    async def uow_factory(self, store: RedisStore) -> UnitOfWorkFactory:
        return store.unit_of_work


class TestRedisStoreDedupAtCommit(StoreConformance):
    @pytest.fixture
    async def uow_factory(self, redis_client: Redis, prefix: str) -> UnitOfWorkFactory:
        return RedisStore(redis_client, prefix=prefix, dedup="at_commit").unit_of_work


class TestRedisThroughput(ThroughputReservationsConformance):
    @pytest.fixture
    def reservations(self, redis_client: Redis, prefix: str) -> Callable[[], ThroughputReservations]:
        return lambda: RedisThroughput(redis_client, prefix=prefix)


class TestRedisPurge(ConversationPurgeConformance):
    @pytest.fixture
    def uow_factory(self, store: RedisStore) -> UnitOfWorkFactory:
        return store.unit_of_work

    @pytest.fixture
    def purge(self, store: RedisStore) -> ConversationPurge:
        return RedisPurge(store)
