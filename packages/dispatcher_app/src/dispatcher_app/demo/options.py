"""What a demo run is made of: the options of ``dispatcher demo`` and the app configuration they give.

Why the configuration is built here and not read from the environment: the demo must run on a fresh machine
with nothing set, and must not pick up a developer's ``.env`` (its secrets, its database). Every secret is
generated with :mod:`secrets` for this run only; durations are short so that every rule of the dispatcher
(grace period, response timeout, inactivity close) visibly happens within a minute or two.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from dispatcher_app.config import AppConfig
from dispatcher_core import DispatcherSettings, RoutingPolicy
from dispatcher_core.errors import InvalidInput

__all__ = ["DemoOptions", "StoreChoice", "demo_config"]

StoreChoice = Literal["sqlite", "memory"]


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """``dispatcher demo``'s options; the defaults are what the README's first command shows."""

    host: str = "127.0.0.1"
    #: 0 picks a free port.
    port: int = 8000
    agents: int = 5
    #: Customer messages per second, on average (a Poisson process).
    rate: float = 1.5
    #: How many different customers write (a customer with an open conversation writes into it).
    customers: int = 30
    #: Most open conversations per agent (0 = unlimited); small so that pending conversations appear.
    capacity: int = 3
    policy: RoutingPolicy = RoutingPolicy.ROUND_ROBIN
    seed: int | None = None
    #: Stop by itself after this many seconds (``None``: until Ctrl-C).
    duration: float | None = None
    store: StoreChoice = "sqlite"
    disconnect_grace: timedelta = timedelta(seconds=5)
    response_timeout: timedelta = timedelta(seconds=45)
    inactivity_timeout: timedelta = timedelta(seconds=30)
    timeout_check_interval: timedelta = timedelta(seconds=5)

    def __post_init__(self) -> None:
        problems = []
        if not 0 <= self.port < 65536:
            problems.append("port must be between 0 and 65535")
        if not 1 <= self.agents <= 50:
            problems.append("agents must be between 1 and 50")
        if not 0 < self.rate <= 100:
            problems.append("rate must be > 0 and at most 100 messages per second")
        if not 1 <= self.customers <= 10_000:
            problems.append("customers must be between 1 and 10000")
        if self.capacity < 0:
            problems.append("capacity must be >= 0 (0 = unlimited)")
        if self.duration is not None and not self.duration > 0:
            problems.append("duration must be a positive number of seconds")
        if self.store not in ("sqlite", "memory"):
            problems.append("store must be sqlite or memory")
        if problems:
            raise InvalidInput("; ".join(problems))


def demo_config(options: DemoOptions, database_url: str) -> AppConfig:
    """A complete configuration with secrets of its own; nothing is read from the environment.

    No WhatsApp credentials: the app then records agents' replies in its in-memory outbox instead of calling
    the Graph API, so the demo never sends anything out.
    """
    return AppConfig(
        admin_token=secrets.token_urlsafe(18),
        agent_token_secret=secrets.token_hex(32),
        whatsapp_app_secret=secrets.token_hex(16),
        whatsapp_verify_token=secrets.token_urlsafe(12),
        database_url=database_url,
        dispatcher=DispatcherSettings(
            agent_capacity=options.capacity,
            routing_policy=options.policy,
            response_timeout=options.response_timeout,
            inactivity_timeout=options.inactivity_timeout,
            timeout_check_interval=options.timeout_check_interval,
            disconnect_grace=options.disconnect_grace,
        ),
        whatsapp=None,
        instance_id="demo",
        tick_interval=timedelta(seconds=1),
    )
