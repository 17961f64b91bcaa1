"""The Graph API version: Meta's newest by default, configurable, and a warning before it retires."""

from __future__ import annotations

from datetime import date

import pytest

from dispatcher_adapters.whatsapp.graph_versions import (
    GRAPH_API_VERSION,
    RETIREMENTS,
    retirement_of,
    version_of,
    version_warning,
)
from dispatcher_adapters.whatsapp.settings import InvalidSettings, WhatsAppSettings

REQUIRED = {"WHATSAPP_ACCESS_TOKEN": "secret-token", "WHATSAPP_PHONE_NUMBER_ID": "1122334455667"}


def test_the_default_is_the_newest_version_meta_documents() -> None:
    assert GRAPH_API_VERSION == "v27.0"
    settings = WhatsAppSettings.from_env(REQUIRED)
    assert settings.api_base_url == "https://graph.facebook.com/v27.0"
    assert settings.api_version == "v27.0"
    newest = max(RETIREMENTS, key=lambda version: tuple(int(part) for part in version[1:].split(".")))
    assert newest == GRAPH_API_VERSION


def test_meta_s_announced_retirement_dates() -> None:
    assert retirement_of("v21.0") == date(2027, 1, 21)
    assert retirement_of("v22.0") == date(2027, 5, 20)
    assert retirement_of("v23.0") == date(2027, 10, 8)
    assert retirement_of("v24.0") == date(2028, 2, 18)
    assert retirement_of("v25.0") == date(2028, 7, 29)
    assert retirement_of("v26.0") is None
    assert retirement_of("v27.0") is None
    assert retirement_of("v12.0") == date.min  # older than the table: long retired
    assert retirement_of("v99.0") is None


@pytest.mark.parametrize("raw", ["v26.0", "26.0"])
def test_the_version_is_chosen_with_whatsapp_api_version(raw: str) -> None:
    settings = WhatsAppSettings.from_env({**REQUIRED, "WHATSAPP_API_VERSION": raw})
    assert settings.api_base_url == "https://graph.facebook.com/v26.0"
    assert settings.messages_url == "https://graph.facebook.com/v26.0/1122334455667/messages"


def test_a_base_url_still_names_the_whole_url_as_before() -> None:
    settings = WhatsAppSettings.from_env({**REQUIRED, "WHATSAPP_API_BASE_URL": "http://127.0.0.1:9999/v25.0"})
    assert settings.api_base_url == "http://127.0.0.1:9999/v25.0"
    assert settings.api_version == "v25.0"
    proxy = WhatsAppSettings.from_env({**REQUIRED, "WHATSAPP_API_BASE_URL": "https://proxy.example/graph"})
    assert proxy.api_version is None
    both = WhatsAppSettings.from_env(
        {**REQUIRED, "WHATSAPP_API_BASE_URL": "http://127.0.0.1:9999/v26.0", "WHATSAPP_API_VERSION": "v26.0"}
    )
    assert both.api_base_url == "http://127.0.0.1:9999/v26.0"


def test_a_bad_or_conflicting_version_is_named() -> None:
    with pytest.raises(InvalidSettings) as bad:
        WhatsAppSettings.from_env({**REQUIRED, "WHATSAPP_API_VERSION": "latest"})
    assert "WHATSAPP_API_VERSION" in bad.value.problems
    with pytest.raises(InvalidSettings) as conflict:
        WhatsAppSettings.from_env(
            {**REQUIRED, "WHATSAPP_API_VERSION": "v27.0", "WHATSAPP_API_BASE_URL": "https://graph.facebook.com/v21.0"}
        )
    assert "v21.0" in conflict.value.problems["WHATSAPP_API_VERSION"]


def test_warning_within_sixty_days_of_retirement_or_past_it() -> None:
    assert version_warning("v21.0", date(2026, 11, 21)) is None  # 61 days before
    soon = version_warning("v21.0", date(2026, 11, 22))  # 60 days before
    assert soon is not None
    assert "2027-01-21" in soon
    assert "in 60 days" in soon
    assert "WHATSAPP_API_VERSION=v27.0" in soon
    past = version_warning("v21.0", date(2027, 1, 21))
    assert past is not None
    assert "was retired on 2027-01-21" in past
    ancient = version_warning("v12.0", date(2026, 12, 5))
    assert ancient is not None
    assert "is retired" in ancient
    assert version_warning("v27.0", date(2030, 1, 1)) is None  # not announced
    assert version_warning(None, date(2030, 1, 1)) is None  # a proxy's base URL


def test_version_of_a_base_url() -> None:
    assert version_of("https://graph.facebook.com/v27.0") == "v27.0"
    assert version_of("https://graph.facebook.com/v27.0/") == "v27.0"
    assert version_of("http://127.0.0.1:1/graph") is None
