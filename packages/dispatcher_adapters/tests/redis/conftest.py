"""Fixtures of the Redis adapter tests: a client on the test server and a key prefix of their own.

Each test gets a fresh prefix and deletes only that prefix afterwards (other test runs may share the
server; never FLUSHDB).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from dispatcher_adapters.redis import RedisStore, delete_prefix


def new_prefix() -> str:
    return f"test-redis-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
async def prefix(redis_client: Redis) -> AsyncIterator[str]:
    name = new_prefix()
    yield name
    await delete_prefix(redis_client, name)


@pytest.fixture
def store(redis_client: Redis, prefix: str) -> RedisStore:
    return RedisStore(redis_client, prefix=prefix)


async def kill_connections(admin: Redis, name: str) -> int:
    """``CLIENT KILL`` every connection named ``name`` (what a network cut or a Redis restart does to a
    process); returns how many were killed."""
    killed = 0
    for client in await admin.client_list():
        if client.get("name") == name:
            killed += int(await admin.client_kill_filter(_id=client["id"]))
    return killed
