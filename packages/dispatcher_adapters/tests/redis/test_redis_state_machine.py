"""The orchestrator on the Redis store keeps I1-I8 under random sequences of everything that can happen:
the core's hypothesis state machine, on a fresh key prefix per example (deleted afterwards)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Literal

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test
from redis.asyncio import Redis

from dispatcher_adapters.redis import RedisStore, delete_prefix
from dispatcher_core.ports import UnitOfWorkFactory
from dispatcher_core.testing.state_machine import dispatcher_state_machine

from .conftest import new_prefix

pytestmark = pytest.mark.redis

_SETTINGS = settings(
    max_examples=30, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def fresh_redis_store(
    url: str, dedup: Literal["check", "at_commit"], prefetch_loads: bool
) -> AbstractAsyncContextManager[UnitOfWorkFactory]:
    @asynccontextmanager
    async def factory() -> AsyncIterator[UnitOfWorkFactory]:
        client = Redis.from_url(url, decode_responses=True)
        prefix = new_prefix()
        try:
            yield RedisStore(client, prefix=prefix, dedup=dedup, prefetch_loads=prefetch_loads).unit_of_work
        finally:
            await delete_prefix(client, prefix)
            await client.aclose()

    return factory()


@pytest.mark.parametrize(
    ("capacity", "dedup", "prefetch_loads"),
    [(0, "check", False), (2, "check", False), (0, "at_commit", False), (2, "at_commit", True)],
)
def test_state_machine_on_redis(
    redis_url: str, capacity: int, dedup: Literal["check", "at_commit"], prefetch_loads: bool
) -> None:
    machine = dispatcher_state_machine(lambda: fresh_redis_store(redis_url, dedup, prefetch_loads), capacity=capacity)
    run_state_machine_as_test(machine, settings=_SETTINGS)
