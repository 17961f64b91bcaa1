"""The dispatcher's tunable rules, validated once at construction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dispatcher_core.errors import InvalidInput
from dispatcher_core.types.routing_policy import RoutingPolicy

__all__ = ["DispatcherSettings"]


@dataclass(frozen=True, slots=True)
class DispatcherSettings:
    """Defaults are the ones of docs/configuration.md ("Dispatching rules"). ``agent_capacity`` 0 means
    unlimited; ``routing_policy`` is how the next agent is picked (:class:`RoutingPolicy`)."""

    agent_capacity: int = 0
    routing_policy: RoutingPolicy = RoutingPolicy.ROUND_ROBIN
    response_timeout: timedelta = timedelta(hours=24)
    inactivity_timeout: timedelta = timedelta(hours=24)
    timeout_check_interval: timedelta = timedelta(minutes=30)
    disconnect_grace: timedelta = timedelta(seconds=30)
    scheduled_distribution_time: time = time(9, 0)
    timezone: str = "UTC"
    #: How many times a read -> decide -> apply cycle is retried after a ConcurrencyConflict.
    max_conflict_retries: int = 50

    def __post_init__(self) -> None:
        if self.agent_capacity < 0:
            raise InvalidInput(f"agent_capacity must be >= 0 (0 = unlimited), got {self.agent_capacity}")
        for name in ("response_timeout", "inactivity_timeout", "timeout_check_interval"):
            if getattr(self, name) <= timedelta(0):
                raise InvalidInput(f"{name} must be positive, got {getattr(self, name)}")
        if self.disconnect_grace < timedelta(0):
            raise InvalidInput(f"disconnect_grace must be >= 0, got {self.disconnect_grace}")
        try:  # a plain string ("least_busy", from a CLI or the environment) becomes the enum member
            object.__setattr__(self, "routing_policy", RoutingPolicy(self.routing_policy))
        except ValueError as exc:
            choices = ", ".join(p.value for p in RoutingPolicy)
            raise InvalidInput(f"routing_policy must be one of {choices}, got {self.routing_policy!r}") from exc
        if self.max_conflict_retries < 1:
            raise InvalidInput("max_conflict_retries must be >= 1")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise InvalidInput(f"unknown timezone {self.timezone!r}") from exc

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
