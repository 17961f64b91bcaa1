"""One real uvicorn server per test module; each test mounts a fresh app (its own in-memory store) in it.

Test modules that use these fixtures run in the module's event loop:
``pytestmark = pytest.mark.asyncio(loop_scope="module")``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio

from dispatcher_app import create_app
from dispatcher_app.testing import AppHarness, AppSlot, RunningServer, make_config, mounted, serve
from dispatcher_core.testing import ManualClock

MakeHarness = Callable[..., AbstractAsyncContextManager[AppHarness]]


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def slot_server() -> AsyncIterator[tuple[AppSlot, RunningServer]]:
    slot = AppSlot()
    async with serve(slot) as server:
        yield slot, server


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def make_harness(slot_server: tuple[AppSlot, RunningServer], clock: ManualClock) -> MakeHarness:
    """``async with make_harness(**config_changes, app_kwargs={...}) as h`` - a fresh app on the server.
    The background loop is left asleep (tick every hour): tests call ``h.runtime.runner.tick()``."""
    slot, server = slot_server

    @asynccontextmanager
    async def make(app_kwargs: dict[str, Any] | None = None, **changes: Any) -> AsyncIterator[AppHarness]:
        config = make_config(**{"tick_interval": timedelta(hours=1), **changes})
        app = create_app(config, **{"clock": clock, **(app_kwargs or {})})
        async with mounted(slot, server, app, config) as harness:
            yield harness

    return make


@pytest_asyncio.fixture(loop_scope="module")
async def harness(make_harness: MakeHarness) -> AsyncIterator[AppHarness]:
    async with make_harness() as h:
        yield h
