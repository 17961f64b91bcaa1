"""Fixtures of the WhatsApp tests: the fake Graph API on loopback, a manual clock and a fake sleeper."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from prometheus_client import CollectorRegistry

from dispatcher_adapters.whatsapp.settings import WhatsAppSettings
from dispatcher_core.testing import ManualClock

from .fake_graph import FakeGraph
from .support import FakeSleeper

PHONE_NUMBER_ID = "1122334455667"
TOKEN = "test-access-token"


@pytest.fixture
async def fake_graph() -> AsyncIterator[FakeGraph]:
    graph = FakeGraph()
    await graph.start()
    try:
        yield graph
    finally:
        await graph.stop()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sleeper(clock: ManualClock) -> FakeSleeper:
    return FakeSleeper(clock)


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def settings(fake_graph: FakeGraph) -> WhatsAppSettings:
    return WhatsAppSettings(
        access_token=TOKEN,
        phone_number_id=PHONE_NUMBER_ID,
        api_base_url=fake_graph.base_url,
        request_timeout=timedelta(seconds=0.3),
    )
