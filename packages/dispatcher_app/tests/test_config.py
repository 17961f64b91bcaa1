"""Configuration from the environment and a .env file: defaults, precedence, and errors that name the variables."""

from __future__ import annotations

import sys
from datetime import time, timedelta
from pathlib import Path

import pytest

from dispatcher_app.config import (
    AppConfig,
    ConfigError,
    StoreKind,
    default_data_dir,
    default_database_url,
    load_config,
)
from dispatcher_core import RoutingPolicy
from dispatcher_core.errors import InvalidInput

SECRETS = {
    "DISPATCHER_ADMIN_TOKEN": "admin",
    "DISPATCHER_AGENT_TOKEN_SECRET": "s" * 32,
    "WHATSAPP_APP_SECRET": "app",
    "WHATSAPP_VERIFY_TOKEN": "verify",
}


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="the XDG layout of Linux and other Unix systems")
def test_defaults_with_only_the_secrets(tmp_path: Path) -> None:
    config = load_config({**SECRETS, "XDG_DATA_HOME": str(tmp_path / "data")}, env_file=tmp_path / "absent.env")
    # the platform's data directory (Linux: $XDG_DATA_HOME), never the current directory
    assert config.database_url == f"sqlite+aiosqlite:///{tmp_path}/data/dispatcher/dispatcher.sqlite3"
    assert config.store_kind is StoreKind.SQLITE
    assert config.redis_url is None
    assert config.events_url is None
    assert config.webhook_max_bytes == 3 * 1024 * 1024
    assert config.dispatcher.agent_capacity == 0
    assert config.dispatcher.response_timeout == timedelta(hours=24)
    assert config.dispatcher.disconnect_grace == timedelta(seconds=30)
    assert config.whatsapp is None  # no sending configured: replies go to the in-memory outbox


def test_every_variable_of_design_section_4_is_read(tmp_path: Path) -> None:
    environ = {
        **SECRETS,
        "DISPATCHER_DATABASE_URL": "postgresql://u@db/dispatcher",
        "DISPATCHER_REDIS_URL": "redis://cache:6379/1",
        "WHATSAPP_ACCESS_TOKEN": "token",
        "WHATSAPP_PHONE_NUMBER_ID": "123",
        "WHATSAPP_API_BASE_URL": "http://graph.test/v1",
        "DISPATCHER_RESPONSE_TIMEOUT": "3600",
        "DISPATCHER_INACTIVITY_TIMEOUT": "7200.5",
        "DISPATCHER_TIMEOUT_CHECK_INTERVAL": "60",
        "DISPATCHER_DISCONNECT_GRACE": "0",
        "DISPATCHER_SCHEDULED_DISTRIBUTION_TIME": "07:45",
        "DISPATCHER_TIMEZONE": "Europe/Paris",
        "DISPATCHER_AGENT_CAPACITY": "5",
        "WHATSAPP_CIRCUIT_BREAKER_ENABLED": "false",
        "WHATSAPP_CIRCUIT_BREAKER_FAILURE_THRESHOLD": "7",
        "WHATSAPP_CIRCUIT_BREAKER_TIMEOUT": "30",
        "WHATSAPP_CIRCUIT_BREAKER_SUCCESS_THRESHOLD": "3",
        "WHATSAPP_RETRY_MAX_ATTEMPTS": "4",
        "WHATSAPP_RETRY_INITIAL_DELAY": "250",
        "WHATSAPP_RETRY_MAX_DELAY": "5000",
        "DISPATCHER_WEBHOOK_MAX_BYTES": "1024",
    }
    config = load_config(environ, env_file=None)
    assert (config.store_kind, config.events_url) == (StoreKind.POSTGRESQL, "redis://cache:6379/1")
    settings = config.dispatcher
    assert settings.response_timeout == timedelta(hours=1)
    assert settings.inactivity_timeout == timedelta(seconds=7200.5)
    assert settings.timeout_check_interval == timedelta(minutes=1)
    assert settings.disconnect_grace == timedelta(0)
    assert (settings.scheduled_distribution_time, settings.timezone) == (time(7, 45), "Europe/Paris")
    assert settings.agent_capacity == 5
    whatsapp = config.whatsapp
    assert whatsapp is not None
    assert (whatsapp.access_token, whatsapp.phone_number_id) == ("token", "123")
    assert whatsapp.api_base_url == "http://graph.test/v1"
    assert not whatsapp.circuit_breaker_enabled
    assert (whatsapp.circuit_breaker_failure_threshold, whatsapp.circuit_breaker_success_threshold) == (7, 3)
    assert whatsapp.circuit_breaker_timeout == timedelta(seconds=30)
    assert whatsapp.retry_max_attempts == 4
    assert (whatsapp.retry_initial_delay, whatsapp.retry_max_delay) == (
        timedelta(milliseconds=250),
        timedelta(seconds=5),
    )
    assert config.webhook_max_bytes == 1024


def test_env_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "DISPATCHER_ADMIN_TOKEN=from-file\n"
        "DISPATCHER_AGENT_TOKEN_SECRET=ffffffffffffffffffffffffffffffffffff\n"
        "WHATSAPP_APP_SECRET=file-app\n"
        "WHATSAPP_VERIFY_TOKEN=file-verify\n"
        "DISPATCHER_AGENT_CAPACITY=2\n"
    )
    config = load_config({"DISPATCHER_ADMIN_TOKEN": "from-env"}, env_file=env_file)
    assert config.admin_token == "from-env"
    assert config.whatsapp_app_secret == "file-app"
    assert config.dispatcher.agent_capacity == 2


def test_missing_secrets_are_all_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({"WHATSAPP_APP_SECRET": "x", "DISPATCHER_ADMIN_TOKEN": "  "}, env_file=None)
    assert caught.value.missing == (
        "DISPATCHER_ADMIN_TOKEN",
        "DISPATCHER_AGENT_TOKEN_SECRET",
        "WHATSAPP_VERIFY_TOKEN",
    )
    assert "DISPATCHER_AGENT_TOKEN_SECRET" in str(caught.value)


def test_malformed_values_are_all_named() -> None:
    environ = {
        **SECRETS,
        "DISPATCHER_AGENT_TOKEN_SECRET": "short",
        "DISPATCHER_RESPONSE_TIMEOUT": "soon",
        "DISPATCHER_DISCONNECT_GRACE": "-1",
        "DISPATCHER_SCHEDULED_DISTRIBUTION_TIME": "25:00",
        "DISPATCHER_TIMEZONE": "Mars/Olympus",
        "DISPATCHER_AGENT_CAPACITY": "-2",
        "DISPATCHER_DATABASE_URL": "mysql://x",
        "DISPATCHER_REDIS_URL": "http://not-redis",
        "WHATSAPP_PHONE_NUMBER_ID": "123",  # sending half configured: the access token is missing
        "WHATSAPP_CIRCUIT_BREAKER_ENABLED": "maybe",
        "DISPATCHER_TIMEOUT_CHECK_INTERVAL": "inf",
    }
    with pytest.raises(ConfigError) as caught:
        load_config(environ, env_file=None)
    named = " ".join(caught.value.invalid)
    for name in (
        "DISPATCHER_AGENT_TOKEN_SECRET",
        "DISPATCHER_RESPONSE_TIMEOUT",
        "DISPATCHER_DISCONNECT_GRACE",
        "DISPATCHER_SCHEDULED_DISTRIBUTION_TIME",
        "DISPATCHER_TIMEZONE",
        "DISPATCHER_AGENT_CAPACITY",
        "DISPATCHER_DATABASE_URL",
        "DISPATCHER_REDIS_URL",
        "WHATSAPP_CIRCUIT_BREAKER_ENABLED",
        "WHATSAPP_ACCESS_TOKEN",
        "DISPATCHER_TIMEOUT_CHECK_INTERVAL",
    ):
        assert name in named
    assert caught.value.missing == ()


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("memory://", StoreKind.MEMORY),
        ("sqlite:///x.db", StoreKind.SQLITE),
        ("sqlite+aiosqlite:///./x.db", StoreKind.SQLITE),
        ("postgresql+asyncpg://u@h/db", StoreKind.POSTGRESQL),
        ("redis://h:6379/0", StoreKind.REDIS),
    ],
)
def test_store_kind_follows_the_url(url: str, kind: StoreKind) -> None:
    config = AppConfig(
        admin_token="a",
        agent_token_secret="s" * 32,
        whatsapp_app_secret="w",
        whatsapp_verify_token="v",
        database_url=url,
    )
    assert config.store_kind is kind
    assert config.events_url == (url if kind is StoreKind.REDIS else None)


def test_the_tick_must_be_short_enough_for_the_heartbeat() -> None:
    environ = {**SECRETS, "DISPATCHER_PRESENCE_TTL": "3", "DISPATCHER_TICK_INTERVAL": "2"}
    with pytest.raises(ConfigError, match="DISPATCHER_TICK_INTERVAL"):
        load_config(environ, env_file=None)


def test_app_config_refuses_bad_values_directly() -> None:
    with pytest.raises(InvalidInput, match="agent_token_secret"):
        AppConfig(admin_token="a", agent_token_secret="short", whatsapp_app_secret="w", whatsapp_verify_token="v")
    with pytest.raises(InvalidInput, match="admin_token"):
        AppConfig(admin_token="  ", agent_token_secret="s" * 32, whatsapp_app_secret="w", whatsapp_verify_token="v")
    with pytest.raises(InvalidInput, match="memory"):
        AppConfig(
            admin_token="a",
            agent_token_secret="s" * 32,
            whatsapp_app_secret="w",
            whatsapp_verify_token="v",
            database_url="memory://",
            redis_url="redis://localhost",
        )
    with pytest.raises(InvalidInput, match="instance_id"):
        AppConfig(
            admin_token="a",
            agent_token_secret="s" * 32,
            whatsapp_app_secret="w",
            whatsapp_verify_token="v",
            instance_id="has:colon",
        )


def test_the_routing_policy_is_read_and_checked(tmp_path: Path) -> None:
    absent = tmp_path / "absent.env"
    assert load_config(SECRETS, env_file=absent).dispatcher.routing_policy is RoutingPolicy.ROUND_ROBIN
    chosen = load_config({**SECRETS, "DISPATCHER_ROUTING_POLICY": "least_busy"}, env_file=absent)
    assert chosen.dispatcher.routing_policy is RoutingPolicy.LEAST_BUSY
    with pytest.raises(ConfigError) as error:
        load_config({**SECRETS, "DISPATCHER_ROUTING_POLICY": "fastest"}, env_file=absent)
    assert list(error.value.invalid) == ["DISPATCHER_ROUTING_POLICY='fastest' (round_robin or least_busy)"]


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="the XDG layout of Linux and other Unix systems")
def test_the_default_sqlite_file_is_in_the_platform_data_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_data_dir() == tmp_path / "dispatcher"
    assert AppConfig(database_url="memory://").database_url == "memory://"
    assert (
        AppConfig().database_url
        == default_database_url()
        == f"sqlite+aiosqlite:///{tmp_path}/dispatcher/dispatcher.sqlite3"
    )
    assert default_data_dir({}) == Path.home() / ".local" / "share" / "dispatcher"  # XDG's own default
