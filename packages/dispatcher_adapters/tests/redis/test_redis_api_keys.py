"""The Redis API keys pass the ApiKeyRepository conformance suite."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from dispatcher_adapters.redis import RedisApiKeys
from dispatcher_core.testing.conformance import ApiKeyRepositoryConformance

pytestmark = pytest.mark.redis


class TestRedisApiKeys(ApiKeyRepositoryConformance):
    @pytest.fixture
    async def api_keys(self, redis_client: Redis, prefix: str) -> RedisApiKeys:
        return RedisApiKeys(redis_client, prefix=prefix)
