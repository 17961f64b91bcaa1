"""Settings from the environment, with the seed's variable names; every bad variable named at once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dispatcher_adapters.whatsapp.settings import DEFAULT_API_BASE_URL, InvalidSettings, WhatsAppSettings

REQUIRED = {"WHATSAPP_ACCESS_TOKEN": "secret-token", "WHATSAPP_PHONE_NUMBER_ID": "1122334455667"}


def test_defaults_are_the_seeds() -> None:
    settings = WhatsAppSettings.from_env(REQUIRED)
    assert settings.api_base_url == DEFAULT_API_BASE_URL == "https://graph.facebook.com/v27.0"
    assert settings.messages_url == "https://graph.facebook.com/v27.0/1122334455667/messages"
    assert settings.circuit_breaker_enabled
    assert (settings.circuit_breaker_failure_threshold, settings.circuit_breaker_success_threshold) == (5, 2)
    assert settings.circuit_breaker_timeout == timedelta(seconds=60)
    assert settings.retry_max_attempts == 3
    assert (settings.retry_initial_delay, settings.retry_max_delay) == (
        timedelta(milliseconds=1000),
        timedelta(milliseconds=10000),
    )
    assert settings.throughput_per_second == 80


def test_every_seed_variable_is_read_in_its_unit() -> None:
    settings = WhatsAppSettings.from_env(
        {
            **REQUIRED,
            "WHATSAPP_API_BASE_URL": "http://127.0.0.1:9999/v99.0",
            "WHATSAPP_CIRCUIT_BREAKER_ENABLED": "false",
            "WHATSAPP_CIRCUIT_BREAKER_FAILURE_THRESHOLD": "7",
            "WHATSAPP_CIRCUIT_BREAKER_TIMEOUT": "30",
            "WHATSAPP_CIRCUIT_BREAKER_SUCCESS_THRESHOLD": "3",
            "WHATSAPP_RETRY_MAX_ATTEMPTS": "4",
            "WHATSAPP_RETRY_INITIAL_DELAY": "250",
            "WHATSAPP_RETRY_MAX_DELAY": "2000",
            "WHATSAPP_THROUGHPUT_PER_SECOND": "250",
            "WHATSAPP_REQUEST_TIMEOUT": "2.5",
            "WHATSAPP_BULK_CONCURRENCY": "16",
        }
    )
    assert settings.api_base_url == "http://127.0.0.1:9999/v99.0"
    assert not settings.circuit_breaker_enabled
    assert settings.circuit_breaker_failure_threshold == 7
    assert settings.circuit_breaker_timeout == timedelta(seconds=30)
    assert settings.circuit_breaker_success_threshold == 3
    assert settings.retry_max_attempts == 4
    assert settings.retry_initial_delay == timedelta(milliseconds=250)
    assert settings.retry_max_delay == timedelta(seconds=2)
    assert settings.throughput_per_second == 250
    assert settings.request_timeout == timedelta(seconds=2.5)
    assert settings.bulk_concurrency == 16


def test_all_bad_variables_are_named_in_one_error() -> None:
    with pytest.raises(InvalidSettings) as caught:
        WhatsAppSettings.from_env(
            {
                "WHATSAPP_PHONE_NUMBER_ID": "not-a-number",
                "WHATSAPP_CIRCUIT_BREAKER_ENABLED": "maybe",
                "WHATSAPP_CIRCUIT_BREAKER_FAILURE_THRESHOLD": "0",
                "WHATSAPP_RETRY_INITIAL_DELAY": "soon",
                "WHATSAPP_API_BASE_URL": "graph.facebook.com/",
            }
        )
    problems = caught.value.problems
    assert set(problems) == {
        "WHATSAPP_ACCESS_TOKEN",
        "WHATSAPP_PHONE_NUMBER_ID",
        "WHATSAPP_CIRCUIT_BREAKER_ENABLED",
        "WHATSAPP_CIRCUIT_BREAKER_FAILURE_THRESHOLD",
        "WHATSAPP_RETRY_INITIAL_DELAY",
        "WHATSAPP_API_BASE_URL",
    }
    assert problems["WHATSAPP_ACCESS_TOKEN"] == "is required and missing"
    assert problems["WHATSAPP_CIRCUIT_BREAKER_ENABLED"] == "must be true or false, got 'maybe'"
    assert problems["WHATSAPP_CIRCUIT_BREAKER_FAILURE_THRESHOLD"] == "must be >= 1, got 0"
    assert "WHATSAPP_RETRY_INITIAL_DELAY must be a number of milliseconds" in str(caught.value)


def test_max_delay_below_initial_delay_is_refused() -> None:
    with pytest.raises(InvalidSettings) as caught:
        WhatsAppSettings.from_env({**REQUIRED, "WHATSAPP_RETRY_MAX_DELAY": "500"})
    assert set(caught.value.problems) == {"WHATSAPP_RETRY_MAX_DELAY"}


def test_the_token_never_shows_in_repr() -> None:
    assert "secret-token" not in repr(WhatsAppSettings.from_env(REQUIRED))
