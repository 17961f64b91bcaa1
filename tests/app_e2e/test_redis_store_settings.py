"""The Redis store the app builds follows the dispatcher's settings: it prefetches the agents' loads with the
first read of an incoming message exactly when picking an agent reads them (AssignmentService.needs_loads)."""

from __future__ import annotations

import pytest

from dispatcher_adapters.redis import RedisStore
from dispatcher_app.container import open_runtime
from dispatcher_app.metrics import AppMetrics
from dispatcher_app.testing import make_config
from dispatcher_core import DispatcherSettings, RoutingPolicy

pytestmark = pytest.mark.redis


@pytest.mark.parametrize(
    ("settings", "prefetch"),
    [
        (DispatcherSettings(), False),
        (DispatcherSettings(agent_capacity=3), True),
        (DispatcherSettings(routing_policy=RoutingPolicy.LEAST_BUSY), True),
    ],
)
async def test_loads_are_prefetched_when_the_pick_reads_them(
    redis_url: str, redis_prefix: str, settings: DispatcherSettings, prefetch: bool
) -> None:
    config = make_config(database_url=redis_url, redis_prefix=redis_prefix, dispatcher=settings)
    async with open_runtime(config, AppMetrics()) as runtime:
        store = getattr(runtime.uow_factory, "__self__", None)  # the bound RedisStore.unit_of_work
        assert isinstance(store, RedisStore)
        assert store.prefetch_loads is prefetch
