"""The sender's settings, read from the environment with the seed's variable names.

``WhatsAppSettings.from_env`` checks every variable and reports all bad or missing ones in a single error
naming each variable and what it must be, so an operator fixes the whole configuration in one go.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

from dispatcher_adapters.whatsapp.graph_versions import GRAPH_API_VERSION, graph_base_url, is_version, version_of
from dispatcher_core.errors import InvalidInput

__all__ = ["DEFAULT_API_BASE_URL", "InvalidSettings", "WhatsAppSettings"]

DEFAULT_API_BASE_URL = graph_base_url(GRAPH_API_VERSION)
T = TypeVar("T")


class InvalidSettings(InvalidInput):
    """One or more ``WHATSAPP_*`` variables are missing or invalid; ``problems`` maps each to what is wrong."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        super().__init__("invalid WhatsApp settings: " + "; ".join(f"{k} {v}" for k, v in self.problems.items()))


@dataclass(frozen=True, slots=True)
class WhatsAppSettings:
    """Defaults are the seed's. Durations are timedeltas here; the environment gives the breaker timeout in
    seconds and the retry delays in milliseconds, as the seed does."""

    access_token: str = field(repr=False)
    phone_number_id: str
    api_base_url: str = DEFAULT_API_BASE_URL
    circuit_breaker_enabled: bool = True
    circuit_breaker_failure_threshold: int = 5
    circuit_breaker_timeout: timedelta = timedelta(seconds=60)
    circuit_breaker_success_threshold: int = 2
    retry_max_attempts: int = 3
    retry_initial_delay: timedelta = timedelta(milliseconds=1000)
    retry_max_delay: timedelta = timedelta(milliseconds=10000)
    #: Meta's default per phone number; raised for numbers Meta upgraded.
    throughput_per_second: float = 80.0
    #: How long to wait for Graph's answer before the outcome is unknown.
    request_timeout: timedelta = timedelta(seconds=10)
    #: How many messages of one bulk send are in flight at once.
    bulk_concurrency: int = 8
    #: The WhatsApp Business Account id: needed to sync the approved-template catalogue (``None``: no sync).
    business_account_id: str | None = None
    #: How often the template catalogue is synced from Graph (besides start-up and status webhooks).
    template_sync_interval: timedelta = timedelta(hours=1)

    def __post_init__(self) -> None:
        problems = _check(self)
        if problems:
            raise InvalidSettings(problems)

    @property
    def messages_url(self) -> str:
        return f"{self.api_base_url}/{self.phone_number_id}/messages"

    @property
    def api_version(self) -> str | None:
        """The Graph version the base URL calls (``v27.0``); ``None`` for a base URL without one (a proxy)."""
        return version_of(self.api_base_url)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> WhatsAppSettings:
        """Read ``WHATSAPP_*`` variables from ``env`` (``os.environ`` or a parsed ``.env``).

        ``WHATSAPP_ACCESS_TOKEN`` and ``WHATSAPP_PHONE_NUMBER_ID`` are required; everything else has the
        seed's default. The Graph version is ``WHATSAPP_API_VERSION`` (default :data:`GRAPH_API_VERSION`) on
        Meta's host, unless ``WHATSAPP_API_BASE_URL`` names the whole base URL (version included, as before);
        given both, the base URL must end with that version.
        """
        problems: dict[str, str] = {}

        def get(name: str, parse: Callable[[str], T], default: T, what: str) -> T:
            raw = env.get(name)
            if raw is None or raw.strip() == "":
                return default
            try:
                return parse(raw.strip())
            except (ValueError, OverflowError):
                problems[name] = f"must be {what}, got {raw!r}"
                return default

        def required(name: str) -> str:
            value = env.get(name, "").strip()
            if not value:
                problems[name] = "is required and missing"
            return value

        token = required("WHATSAPP_ACCESS_TOKEN")
        number = required("WHATSAPP_PHONE_NUMBER_ID")
        version = get("WHATSAPP_API_VERSION", _version, None, "a Graph API version such as v27.0")
        base_url = get("WHATSAPP_API_BASE_URL", str, graph_base_url(version or GRAPH_API_VERSION), "a URL")
        if version is not None and version_of(base_url) not in (None, version):
            problems["WHATSAPP_API_VERSION"] = (
                f"is {version} but WHATSAPP_API_BASE_URL calls {version_of(base_url)}: set only one of them"
            )
        account = env.get("WHATSAPP_BUSINESS_ACCOUNT_ID", "").strip() or None
        try:
            settings = cls(
                access_token=token,
                phone_number_id=number,
                api_base_url=base_url,
                circuit_breaker_enabled=get("WHATSAPP_CIRCUIT_BREAKER_ENABLED", _bool, True, "true or false"),
                circuit_breaker_failure_threshold=get(
                    "WHATSAPP_CIRCUIT_BREAKER_FAILURE_THRESHOLD", int, 5, "a whole number"
                ),
                circuit_breaker_timeout=get(
                    "WHATSAPP_CIRCUIT_BREAKER_TIMEOUT", _seconds, timedelta(seconds=60), "a number of seconds"
                ),
                circuit_breaker_success_threshold=get(
                    "WHATSAPP_CIRCUIT_BREAKER_SUCCESS_THRESHOLD", int, 2, "a whole number"
                ),
                retry_max_attempts=get("WHATSAPP_RETRY_MAX_ATTEMPTS", int, 3, "a whole number"),
                retry_initial_delay=get(
                    "WHATSAPP_RETRY_INITIAL_DELAY", _millis, timedelta(milliseconds=1000), "a number of milliseconds"
                ),
                retry_max_delay=get(
                    "WHATSAPP_RETRY_MAX_DELAY", _millis, timedelta(milliseconds=10000), "a number of milliseconds"
                ),
                throughput_per_second=get("WHATSAPP_THROUGHPUT_PER_SECOND", float, 80.0, "a number"),
                request_timeout=get("WHATSAPP_REQUEST_TIMEOUT", _seconds, timedelta(seconds=10), "a number of seconds"),
                bulk_concurrency=get("WHATSAPP_BULK_CONCURRENCY", int, 8, "a whole number"),
                business_account_id=account,
                template_sync_interval=get(
                    "WHATSAPP_TEMPLATE_SYNC_INTERVAL", _seconds, timedelta(hours=1), "a number of seconds"
                ),
            )
        except InvalidSettings as exc:
            # Report the values that did not parse (and the missing ones) with those out of range, all at once.
            raise InvalidSettings({**exc.problems, **problems}) from None
        if problems:
            raise InvalidSettings(problems)
        return settings


_ENV_NAMES = {
    "access_token": "WHATSAPP_ACCESS_TOKEN",
    "phone_number_id": "WHATSAPP_PHONE_NUMBER_ID",
    "api_base_url": "WHATSAPP_API_BASE_URL",
    "circuit_breaker_failure_threshold": "WHATSAPP_CIRCUIT_BREAKER_FAILURE_THRESHOLD",
    "circuit_breaker_timeout": "WHATSAPP_CIRCUIT_BREAKER_TIMEOUT",
    "circuit_breaker_success_threshold": "WHATSAPP_CIRCUIT_BREAKER_SUCCESS_THRESHOLD",
    "retry_max_attempts": "WHATSAPP_RETRY_MAX_ATTEMPTS",
    "retry_initial_delay": "WHATSAPP_RETRY_INITIAL_DELAY",
    "retry_max_delay": "WHATSAPP_RETRY_MAX_DELAY",
    "throughput_per_second": "WHATSAPP_THROUGHPUT_PER_SECOND",
    "request_timeout": "WHATSAPP_REQUEST_TIMEOUT",
    "bulk_concurrency": "WHATSAPP_BULK_CONCURRENCY",
    "business_account_id": "WHATSAPP_BUSINESS_ACCOUNT_ID",
    "template_sync_interval": "WHATSAPP_TEMPLATE_SYNC_INTERVAL",
}


def _check(settings: WhatsAppSettings) -> dict[str, str]:
    """Every rule the values must follow, keyed by the environment variable that sets each."""
    problems: dict[str, str] = {}

    def bad(attribute: str, message: str) -> None:
        problems[_ENV_NAMES[attribute]] = message

    if not settings.access_token:
        bad("access_token", "is required and missing")
    if not settings.phone_number_id or not settings.phone_number_id.isdigit():
        bad("phone_number_id", f"must be the numeric phone number id, got {settings.phone_number_id!r}")
    if not settings.api_base_url.startswith(("https://", "http://")) or settings.api_base_url.endswith("/"):
        bad("api_base_url", f"must be an http(s) URL without a trailing '/', got {settings.api_base_url!r}")
    for attribute in (
        "circuit_breaker_failure_threshold",
        "circuit_breaker_success_threshold",
        "retry_max_attempts",
        "bulk_concurrency",
    ):
        if getattr(settings, attribute) < 1:
            bad(attribute, f"must be >= 1, got {getattr(settings, attribute)}")
    if settings.business_account_id is not None and not settings.business_account_id.isdigit():
        account = settings.business_account_id
        bad("business_account_id", f"must be the numeric WhatsApp Business Account id, got {account!r}")
    for attribute in ("circuit_breaker_timeout", "retry_initial_delay", "request_timeout", "template_sync_interval"):
        if getattr(settings, attribute) <= timedelta(0):
            bad(attribute, f"must be > 0, got {getattr(settings, attribute).total_seconds()} s")
    if settings.retry_max_delay < settings.retry_initial_delay:
        bad("retry_max_delay", "must be >= WHATSAPP_RETRY_INITIAL_DELAY")
    if not settings.throughput_per_second > 0:
        bad("throughput_per_second", f"must be > 0, got {settings.throughput_per_second}")
    return problems


def _bool(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


def _version(raw: str) -> str:
    version = raw if raw.startswith("v") else f"v{raw}"
    if not is_version(version):
        raise ValueError(raw)
    return version


def _seconds(raw: str) -> timedelta:
    return timedelta(seconds=float(raw))


def _millis(raw: str) -> timedelta:
    return timedelta(milliseconds=float(raw))
