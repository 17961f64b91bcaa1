"""The app's configuration: the environment variables of docs/configuration.md, read from the process environment and an
optional ``.env`` file, validated once, in one place.

Why one frozen value: every module of the app receives an :class:`AppConfig` and never reads ``os.environ``
itself, so a test or an embedding backend builds one with keyword arguments and nothing else leaks in.
:func:`load_config` is the only reader of the environment; it collects *every* missing or malformed
variable before failing, so ``dispatcher serve`` names them all at once (:class:`ConfigError`).

Backends are chosen from the URLs (see ``docs/configuration.md``):

* ``DISPATCHER_DATABASE_URL`` ``memory://`` - in-process only; ``sqlite:///path`` (the default is a file in
  the platform's per-user data directory, :func:`default_database_url` - never the current directory by
  surprise); ``postgresql://...``; ``redis://...`` (Redis as the whole store).
* ``DISPATCHER_REDIS_URL`` set - events travel through Redis pub/sub, so several instances can share the
  stores; without it events stay inside the instance (one instance only).
"""

from __future__ import annotations

import enum
import math
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

from dispatcher_adapters.whatsapp.settings import InvalidSettings, WhatsAppSettings
from dispatcher_app.extras import missing_extra
from dispatcher_core import DispatcherSettings, RoutingPolicy
from dispatcher_core.errors import InvalidInput

__all__ = [
    "MIN_AGENT_SECRET_BYTES",
    "REQUIRED_SECRETS",
    "AppConfig",
    "ConfigError",
    "StoreKind",
    "default_data_dir",
    "default_database_url",
    "environment",
    "load_config",
]

DEFAULT_WEBHOOK_MAX_BYTES = 3 * 1024 * 1024
#: Webhook requests one instance works on at once; beyond, 503 + Retry-After at once (docs/operations.md).
DEFAULT_MAX_IN_FLIGHT_WEBHOOKS = 64

#: Variables ``serve`` refuses to start without (docs/configuration.md, "Secrets").
REQUIRED_SECRETS = (
    "DISPATCHER_ADMIN_TOKEN",
    "DISPATCHER_AGENT_TOKEN_SECRET",
    "WHATSAPP_APP_SECRET",
    "WHATSAPP_VERIFY_TOKEN",
)

#: HS256 keys shorter than the hash are weak (RFC 7518 §3.2); PyJWT warns about them too.
MIN_AGENT_SECRET_BYTES = 32
_INSTANCE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
T = TypeVar("T")


class ConfigError(ValueError):
    """The configuration is incomplete or malformed. ``missing`` and ``invalid`` name the variables."""

    def __init__(self, missing: list[str], invalid: list[str]) -> None:
        self.missing = tuple(missing)
        self.invalid = tuple(invalid)
        parts = []
        if missing:
            parts.append("missing: " + ", ".join(missing))
        if invalid:
            parts.append("invalid: " + "; ".join(invalid))
        super().__init__("configuration error (" + " | ".join(parts) + ")")


class StoreKind(enum.StrEnum):
    MEMORY = "memory"
    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"
    REDIS = "redis"


def default_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The platform's per-user data directory for the dispatcher: ``$XDG_DATA_HOME/dispatcher`` (default
    ``~/.local/share/dispatcher``) on Linux and other Unix systems, ``~/Library/Application Support/dispatcher``
    on macOS, ``%LOCALAPPDATA%\\dispatcher`` on Windows. Nothing is created here: the SQL store creates the
    directory when it opens the file."""
    env = os.environ if environ is None else environ
    if sys.platform == "win32":
        base = Path(env.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(env.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "dispatcher"


def default_database_url(environ: Mapping[str, str] | None = None) -> str:
    """The store when no URL is given: a SQLite file in :func:`default_data_dir`."""
    return f"sqlite+aiosqlite:///{default_data_dir(environ) / 'dispatcher.sqlite3'}"


def _missing_extras(database_url: str, redis_url: str | None) -> list[str]:
    """What the backends these URLs name need and is not installed (messages naming the extras)."""
    problems = []
    if store_kind(database_url) is StoreKind.POSTGRESQL:
        problems.append(missing_extra("postgres", "a postgresql:// database URL"))
    if store_kind(database_url) is StoreKind.REDIS or redis_url is not None:
        problems.append(missing_extra("redis", "a redis:// URL"))
    return [problem for problem in problems if problem is not None]


def store_kind(url: str) -> StoreKind:
    """The backend a database URL names; :class:`InvalidInput` for anything else."""
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
    kinds = {
        "memory": StoreKind.MEMORY,
        "sqlite": StoreKind.SQLITE,
        "postgresql": StoreKind.POSTGRESQL,
        "postgres": StoreKind.POSTGRESQL,
        "redis": StoreKind.REDIS,
        "rediss": StoreKind.REDIS,
    }
    if ":" not in url or scheme not in kinds:
        raise InvalidInput(
            f"unsupported database URL {url!r}: use memory://, sqlite:///..., postgresql://... or redis://..."
        )
    return kinds[scheme]


@dataclass(frozen=True, slots=True)
class AppConfig:
    """Everything the app needs, with the defaults of docs/configuration.md.

    The secrets belong to route groups, and :func:`~dispatcher_app.create_app` mounts a group only when its
    secrets are given (an empty string is "not given"): ``admin_token`` the ``/admin`` routes, ``/ws/admin``
    and the dashboard; ``agent_token_secret`` ``/ws/agent``; ``whatsapp_verify_token`` the webhook handshake
    (``GET``) and ``whatsapp_app_secret`` the webhook itself (``POST``). ``/healthz``, ``/readyz`` and
    ``/metrics`` are always there. An embedding host gives only the secrets of the routes it serves;
    ``dispatcher serve`` (:func:`load_config`) requires all four."""

    admin_token: str = ""
    agent_token_secret: str = ""
    whatsapp_app_secret: str = ""
    whatsapp_verify_token: str = ""
    database_url: str = field(default_factory=default_database_url)
    redis_url: str | None = None
    dispatcher: DispatcherSettings = field(default_factory=DispatcherSettings)
    #: The Cloud API sender's settings; ``None`` when ``WHATSAPP_ACCESS_TOKEN`` and
    #: ``WHATSAPP_PHONE_NUMBER_ID`` are not set (replies then go to the in-memory outbox).
    whatsapp: WhatsAppSettings | None = None
    #: Bodies above this many bytes get 413 (Meta's own limit is 3 MiB).
    webhook_max_bytes: int = DEFAULT_WEBHOOK_MAX_BYTES
    #: Webhook POSTs this instance handles at once; one more is answered 503 with ``Retry-After`` without being
    #: read (Meta resends it), so an overload costs a quick refusal instead of seconds of queueing. 0: no limit.
    max_in_flight_webhooks: int = DEFAULT_MAX_IN_FLIGHT_WEBHOOKS
    #: Names this process in connection ids and heartbeats; random when not given.
    instance_id: str | None = None
    #: An instance whose heartbeat is older than this is dead: its sockets' presence is removed.
    presence_ttl: timedelta = timedelta(seconds=30)
    #: How often the background loop looks at what is due (grace periods, timeouts, heartbeats).
    tick_interval: timedelta = timedelta(seconds=1)
    #: Key prefix of everything this deployment writes in Redis.
    redis_prefix: str = "dispatcher"
    #: How long a send may stay ``sending`` (its claimer's lease) before recovery takes it for dead and marks
    #: it ``unknown``; recovery also runs this often.
    outbox_lease: timedelta = timedelta(minutes=5)
    #: Closed conversations (messages and outbound messages included) are purged this long after their close;
    #: ``None`` keeps them forever.
    retention: timedelta | None = timedelta(days=90)

    def __post_init__(self) -> None:
        problems = []
        for name in ("admin_token", "agent_token_secret", "whatsapp_app_secret", "whatsapp_verify_token"):
            value = getattr(self, name)
            if value and not value.strip():
                problems.append(f"{name} must be empty (not given) or a real secret, not blanks")
        if self.agent_token_secret and len(self.agent_token_secret.encode()) < MIN_AGENT_SECRET_BYTES:
            problems.append(f"agent_token_secret must be at least {MIN_AGENT_SECRET_BYTES} bytes")
        try:
            store_kind(self.database_url)
        except InvalidInput as exc:
            problems.append(str(exc))
        if self.redis_url is not None and store_kind(self.redis_url) is not StoreKind.REDIS:
            problems.append(f"redis_url must be a redis:// URL, got {self.redis_url!r}")
        if not problems:
            problems.extend(_missing_extras(self.database_url, self.redis_url))
        if self.redis_url is not None and self.database_url.startswith("memory:"):
            problems.append("a memory:// store belongs to one process: sharing its events through Redis makes no sense")
        if self.webhook_max_bytes < 1:
            problems.append("webhook_max_bytes must be >= 1")
        if self.max_in_flight_webhooks < 0:
            problems.append("max_in_flight_webhooks must be >= 0 (0: no limit)")
        if self.instance_id is not None and not _INSTANCE_ID.match(self.instance_id):
            problems.append("instance_id must be 1-64 characters among letters, digits, '_', '.', '-'")
        if self.dispatcher.timeout_check_interval < timedelta(seconds=1):
            problems.append("the timeout check interval must be at least 1 second (its slots are whole seconds)")
        if self.presence_ttl <= timedelta(0) or self.tick_interval <= timedelta(0):
            problems.append("presence_ttl and tick_interval must be positive")
        if problems:
            raise InvalidInput("; ".join(problems))

    @property
    def store_kind(self) -> StoreKind:
        return store_kind(self.database_url)

    @property
    def events_url(self) -> str | None:
        """Where cross-instance events travel: ``DISPATCHER_REDIS_URL``, or the store itself when it is Redis."""
        if self.redis_url is not None:
            return self.redis_url
        return self.database_url if self.store_kind is StoreKind.REDIS else None


class _Reader:
    """Reads variables from one mapping, recording every problem instead of stopping at the first."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = values
        self.missing: list[str] = []
        self.invalid: list[str] = []

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        return value.strip() if value is not None and value.strip() else None

    def secret(self, name: str) -> str:
        value = self.text(name)
        if value is None:
            self.missing.append(name)
            return ""
        return value

    def parsed(self, name: str, default: T, parse: Callable[[str], T], expected: str) -> T:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            return parse(raw)
        except (ValueError, InvalidInput):
            self.invalid.append(f"{name}={raw!r} ({expected})")
            return default


def _seconds(raw: str) -> timedelta:
    value = float(raw)
    if not math.isfinite(value) or value < 0:
        raise ValueError(raw)
    return timedelta(seconds=value)


def _retention_days(raw: str) -> int:
    """0 keeps closed conversations forever; otherwise at least 7 days: Meta redelivers a webhook for up to
    7 days, and a purged message's id would no longer be recognised as a duplicate."""
    days = int(raw)
    if days != 0 and days < 7:
        raise ValueError(raw)
    return days


def _positive_seconds(raw: str) -> timedelta:
    value = _seconds(raw)
    if value <= timedelta(0):
        raise ValueError(raw)
    return value


def _count(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError(raw)
    return value


def _positive_count(raw: str) -> int:
    value = _count(raw)
    if value < 1:
        raise ValueError(raw)
    return value


def _hh_mm(raw: str) -> time:
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", raw)
    if match is None:
        raise ValueError(raw)
    return time(int(match.group(1)), int(match.group(2)))


def _zone(raw: str) -> str:
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(raw) from exc
    return raw


def _database_url(raw: str) -> str:
    store_kind(raw)
    return raw


def _redis_url(raw: str) -> str:
    if store_kind(raw) is not StoreKind.REDIS:
        raise ValueError(raw)
    return raw


def _instance_id(raw: str) -> str:
    if not _INSTANCE_ID.match(raw):
        raise ValueError(raw)
    return raw


def _dispatcher_settings(read: _Reader) -> DispatcherSettings:
    base = DispatcherSettings()
    return DispatcherSettings(
        agent_capacity=read.parsed("DISPATCHER_AGENT_CAPACITY", base.agent_capacity, _count, "an integer >= 0"),
        routing_policy=read.parsed(
            "DISPATCHER_ROUTING_POLICY", base.routing_policy, RoutingPolicy, "round_robin or least_busy"
        ),
        response_timeout=read.parsed(
            "DISPATCHER_RESPONSE_TIMEOUT", base.response_timeout, _positive_seconds, "seconds > 0"
        ),
        inactivity_timeout=read.parsed(
            "DISPATCHER_INACTIVITY_TIMEOUT", base.inactivity_timeout, _positive_seconds, "seconds > 0"
        ),
        timeout_check_interval=read.parsed(
            "DISPATCHER_TIMEOUT_CHECK_INTERVAL", base.timeout_check_interval, _positive_seconds, "seconds > 0"
        ),
        disconnect_grace=read.parsed("DISPATCHER_DISCONNECT_GRACE", base.disconnect_grace, _seconds, "seconds >= 0"),
        scheduled_distribution_time=read.parsed(
            "DISPATCHER_SCHEDULED_DISTRIBUTION_TIME", base.scheduled_distribution_time, _hh_mm, "HH:MM"
        ),
        timezone=read.parsed("DISPATCHER_TIMEZONE", base.timezone, _zone, "an IANA time zone such as Europe/Paris"),
    )


def _whatsapp(read: _Reader) -> WhatsAppSettings | None:
    """The sender's own reader (``WhatsAppSettings.from_env``), when sending is configured at all."""
    if read.text("WHATSAPP_ACCESS_TOKEN") is None and read.text("WHATSAPP_PHONE_NUMBER_ID") is None:
        return None
    try:
        return WhatsAppSettings.from_env(read.values)
    except InvalidSettings as exc:
        read.invalid.extend(f"{name} {problem}" for name, problem in exc.problems.items())
        return None


def environment(environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env") -> dict[str, str]:
    """The variables ``environ`` (default ``os.environ``) holds, over those of ``env_file`` if it exists.

    The process environment wins over the file, like most twelve-factor tools.
    """
    values: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        values.update({key: value for key, value in dotenv_values(env_file).items() if value is not None})
    values.update(os.environ if environ is None else environ)
    return values


def load_config(environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env") -> AppConfig:
    """Build the configuration from :func:`environment`. A missing ``env_file`` is not an error.

    Raises :class:`ConfigError` naming every missing secret and every malformed variable.
    """
    read = _Reader(environment(environ, env_file))
    secrets = {name: read.secret(name) for name in REQUIRED_SECRETS}
    agent_secret = secrets["DISPATCHER_AGENT_TOKEN_SECRET"]
    if agent_secret and len(agent_secret.encode()) < MIN_AGENT_SECRET_BYTES:
        read.invalid.append(
            f"DISPATCHER_AGENT_TOKEN_SECRET (at least {MIN_AGENT_SECRET_BYTES} bytes; try: openssl rand -hex 32)"
        )
    try:
        dispatcher = _dispatcher_settings(read)
    except InvalidInput as exc:  # combinations the core refuses, e.g. a negative grace
        read.invalid.append(str(exc))
        dispatcher = DispatcherSettings()
    whatsapp = _whatsapp(read)
    database_url = read.parsed(
        "DISPATCHER_DATABASE_URL",
        default_database_url(read.values),
        _database_url,
        "memory://, sqlite:///..., postgresql://...",
    )
    redis_url = read.parsed("DISPATCHER_REDIS_URL", None, _redis_url, "a redis:// URL")
    webhook_max_bytes = read.parsed(
        "DISPATCHER_WEBHOOK_MAX_BYTES", DEFAULT_WEBHOOK_MAX_BYTES, _positive_count, "an integer >= 1"
    )
    max_in_flight = read.parsed(
        "DISPATCHER_MAX_IN_FLIGHT_WEBHOOKS", DEFAULT_MAX_IN_FLIGHT_WEBHOOKS, _count, "an integer >= 0 (0: no limit)"
    )
    instance_id = read.parsed("DISPATCHER_INSTANCE_ID", None, _instance_id, "letters, digits, '_', '.', '-'")
    presence_ttl = read.parsed("DISPATCHER_PRESENCE_TTL", timedelta(seconds=30), _positive_seconds, "seconds > 0")
    tick_interval = read.parsed("DISPATCHER_TICK_INTERVAL", timedelta(seconds=1), _positive_seconds, "seconds > 0")
    read.invalid.extend(f"DISPATCHER_DATABASE_URL ({problem})" for problem in _missing_extras(database_url, None))
    read.invalid.extend(f"DISPATCHER_REDIS_URL ({problem})" for problem in _missing_extras("memory://", redis_url))
    if tick_interval * 3 > presence_ttl:
        read.invalid.append(
            "DISPATCHER_TICK_INTERVAL must be at most a third of DISPATCHER_PRESENCE_TTL, or the instance's own"
            " heartbeat would expire between two ticks"
        )
    outbox_lease = read.parsed("DISPATCHER_OUTBOX_LEASE", timedelta(minutes=5), _positive_seconds, "seconds > 0")
    retention_days = read.parsed("DISPATCHER_RETENTION_DAYS", 90, _retention_days, "0 (keep forever) or >= 7 days")
    if read.missing or read.invalid:
        raise ConfigError(read.missing, read.invalid)
    return AppConfig(
        admin_token=secrets["DISPATCHER_ADMIN_TOKEN"],
        agent_token_secret=secrets["DISPATCHER_AGENT_TOKEN_SECRET"],
        whatsapp_app_secret=secrets["WHATSAPP_APP_SECRET"],
        whatsapp_verify_token=secrets["WHATSAPP_VERIFY_TOKEN"],
        dispatcher=dispatcher,
        whatsapp=whatsapp,
        database_url=database_url,
        redis_url=redis_url,
        webhook_max_bytes=webhook_max_bytes,
        max_in_flight_webhooks=max_in_flight,
        instance_id=instance_id,
        presence_ttl=presence_ttl,
        tick_interval=tick_interval,
        redis_prefix=read.text("DISPATCHER_REDIS_PREFIX") or "dispatcher",
        outbox_lease=outbox_lease,
        retention=None if retention_days == 0 else timedelta(days=retention_days),
    )
