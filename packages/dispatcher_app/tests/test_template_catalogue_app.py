"""The template catalogue wired into the app: synced from the fake Graph at start into the configured store
(SQLite here), shown on /admin/templates, and updated by a signed message_template_status_update webhook."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from dispatcher_adapters.whatsapp.settings import WhatsAppSettings
from dispatcher_app import create_app
from dispatcher_app.testing import AppHarness, AppSlot, eventually, make_config, mounted, serve
from dispatcher_core.testing import ManualClock

from .test_whatsapp_wiring import PHONE_NUMBER_ID, TOKEN, fake_graph_module

WABA = "102290129340398"
TEMPLATE = {
    "name": "order_update",
    "language": "en_US",
    "status": "APPROVED",
    "category": "UTILITY",
    "id": "77",
    "components": [{"type": "BODY", "text": "Hello {{1}}"}],
}


@pytest.fixture
async def fake_graph() -> AsyncIterator[Any]:
    fake = fake_graph_module.FakeGraph()
    fake.templates = [TEMPLATE]
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture
async def harness(fake_graph: Any, tmp_path: Path) -> AsyncIterator[AppHarness]:
    settings = WhatsAppSettings.from_env(
        {
            "WHATSAPP_ACCESS_TOKEN": TOKEN,
            "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
            "WHATSAPP_API_BASE_URL": fake_graph.base_url,
            "WHATSAPP_BUSINESS_ACCOUNT_ID": WABA,
        }
    )
    config = make_config(
        tick_interval=timedelta(hours=1),
        whatsapp=settings,
        database_url=f"sqlite+aiosqlite:///{tmp_path}/dispatcher.sqlite3",
    )
    slot = AppSlot()
    async with serve(slot) as server, mounted(slot, server, create_app(config, clock=ManualClock()), config) as h:
        yield h


async def catalogue(h: AppHarness) -> list[dict[str, Any]]:
    response = await h.admin("GET", "/admin/templates")
    assert response.status_code == 200
    body = response.json()
    assert body["configured"] is True
    return body["templates"]  # type: ignore[no-any-return]  # JSON


async def test_the_catalogue_is_synced_at_start_and_follows_status_webhooks(harness: AppHarness) -> None:
    h = harness

    async def synced() -> bool:
        return [t["name"] for t in await catalogue(h)] == ["order_update"]

    await eventually(synced)
    value = {
        "event": "PAUSED",
        "message_template_id": 77,
        "message_template_name": "order_update",
        "message_template_language": "en_US",
        "reason": "NONE",
    }
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": WABA,
                "time": 4_000_000_000,
                "changes": [{"value": value, "field": "message_template_status_update"}],
            }
        ],
    }
    response = await h.post_webhook(json.dumps(body).encode())
    assert response.status_code == 200
    [entry] = await catalogue(h)
    assert entry["status"] == "PAUSED"
    assert entry["body"] == "Hello {{1}}"


async def test_admin_templates_without_a_catalogue() -> None:
    config = make_config()
    slot = AppSlot()
    async with serve(slot) as server, mounted(slot, server, create_app(config), config) as h:
        response = await h.admin("GET", "/admin/templates")
    assert response.json() == {"configured": False, "templates": []}


async def test_a_backend_s_own_store_keeps_the_catalogue_in_memory(fake_graph: Any, tmp_path: Path) -> None:
    from dispatcher_adapters.memory import MemoryStore

    settings = WhatsAppSettings.from_env(
        {
            "WHATSAPP_ACCESS_TOKEN": TOKEN,
            "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
            "WHATSAPP_API_BASE_URL": fake_graph.base_url,
            "WHATSAPP_BUSINESS_ACCOUNT_ID": WABA,
        }
    )
    configured = tmp_path / "configured.sqlite3"
    config = make_config(whatsapp=settings, database_url=f"sqlite+aiosqlite:///{configured}")
    slot = AppSlot()
    app = create_app(config, uow_factory=MemoryStore().unit_of_work)
    async with serve(slot) as server, mounted(slot, server, app, config) as h:

        async def synced() -> bool:
            return [t["name"] for t in await catalogue(h)] == ["order_update"]

        await eventually(synced)
    assert not configured.exists()  # the configured store was never opened
