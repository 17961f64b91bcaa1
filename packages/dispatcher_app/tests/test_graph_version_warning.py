"""The app warns at start when the configured Graph API version retires within 60 days (or has retired)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from dispatcher_adapters.whatsapp.settings import WhatsAppSettings
from dispatcher_app import create_app
from dispatcher_app.testing import make_config
from dispatcher_core.testing import ManualClock


async def _start(version: str, today: datetime, caplog: pytest.LogCaptureFixture) -> list[str]:
    settings = WhatsAppSettings.from_env(
        {"WHATSAPP_ACCESS_TOKEN": "t", "WHATSAPP_PHONE_NUMBER_ID": "15550001111", "WHATSAPP_API_VERSION": version}
    )
    app = create_app(make_config(whatsapp=settings), clock=ManualClock(today))
    with caplog.at_level(logging.WARNING, logger="dispatcher_app.app"):
        async with app.router.lifespan_context(app):
            pass
    return [record.getMessage() for record in caplog.records if "Graph API" in record.getMessage()]


async def test_a_version_retiring_within_60_days_is_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    warnings = await _start("v21.0", datetime(2026, 12, 5, tzinfo=UTC), caplog)
    assert len(warnings) == 1
    assert "Graph API v21.0 retires on 2027-01-21 (in 47 days)" in warnings[0]


async def test_the_default_version_is_not_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    assert await _start("v27.0", datetime(2026, 12, 5, tzinfo=UTC), caplog) == []
