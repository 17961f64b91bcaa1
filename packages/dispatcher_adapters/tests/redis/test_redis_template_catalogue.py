"""The Redis template catalogue passes the TemplateCatalogue conformance suite."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from dispatcher_adapters.redis import RedisTemplateCatalogue
from dispatcher_core.testing.conformance import TemplateCatalogueConformance

pytestmark = pytest.mark.redis


class TestRedisTemplateCatalogue(TemplateCatalogueConformance):
    @pytest.fixture
    async def catalogue(self, redis_client: Redis, prefix: str) -> RedisTemplateCatalogue:
        return RedisTemplateCatalogue(redis_client, prefix=prefix)
