"""The Redis media index passes the MediaIndex conformance suite."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from dispatcher_adapters.redis import RedisMediaIndex
from dispatcher_core.testing.conformance import MediaIndexConformance

pytestmark = pytest.mark.redis


class TestRedisMediaIndex(MediaIndexConformance):
    @pytest.fixture
    async def media_index(self, redis_client: Redis, prefix: str) -> RedisMediaIndex:
        return RedisMediaIndex(redis_client, prefix=prefix)
