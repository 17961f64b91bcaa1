"""What a simulation run is made of: the workload, the agents' behaviour and the dispatcher settings.

One frozen value, validated once, so the CLI, the tests and the HTML report all describe a run the same way.
Validation raises :class:`SimulationConfigError` with a message naming the CLI option at fault: the CLI turns
it into an argparse error, before anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from dispatcher_core.settings import DispatcherSettings

__all__ = ["SIMULATION_START", "SimulationConfig", "SimulationConfigError"]

#: Virtual time zero: a fixed Monday morning, so the same seed always gives the same timestamps.
SIMULATION_START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


class SimulationConfigError(ValueError):
    """The options describe a run that cannot happen (e.g. a minimum above its maximum)."""


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    """Every knob of a run. Durations of the workload are in hours/minutes as on the command line.

    ``customers`` ``None`` means a quarter of ``messages`` (at least one), so that most customers write several
    times. ``shift_hours`` 0 means every agent stays online for the whole run; otherwise each agent works
    ``shift_hours`` then rests ``off_hours`` (``None``: the rest of a 24 h day), starting staggered evenly over
    one cycle. ``absence_rate`` is the probability that an agent skips a given shift (the whole run is one shift
    when there are no shifts). ``reload_rate`` is the expected number of brief disconnections (page reloads) per
    agent per online hour; each lasts between 1 s and twice the grace period, so about half of them outlive
    the grace period and release the agent's conversations.
    """

    agents: int = 5
    messages: int = 1000
    customers: int | None = None
    hours: float = 24.0
    seed: int = 0
    duplicate_rate: float = 0.05
    shift_hours: float = 0.0
    off_hours: float | None = None
    absence_rate: float = 0.0
    reload_rate: float = 0.0
    reply_delay_min: float = 1.0
    reply_delay_max: float = 30.0
    close_rate: float = 0.3
    settings: DispatcherSettings = field(default_factory=DispatcherSettings)
    start: datetime = SIMULATION_START

    def __post_init__(self) -> None:
        _at_least("--agents", self.agents, 1)
        _at_least("--messages", self.messages, 0)
        if self.customers is not None:
            _at_least("--customers", self.customers, 1)
        if not self.hours > 0:
            raise SimulationConfigError(f"--hours must be > 0, got {self.hours}")
        for option, rate in (
            ("--duplicate-rate", self.duplicate_rate),
            ("--absence-rate", self.absence_rate),
            ("--close-rate", self.close_rate),
        ):
            if not 0.0 <= rate <= 1.0:
                raise SimulationConfigError(f"{option} must be between 0 and 1, got {rate}")
        if not self.shift_hours >= 0:
            raise SimulationConfigError(f"--shift-hours must be >= 0, got {self.shift_hours}")
        if self.off_hours is not None:
            if self.shift_hours == 0:
                raise SimulationConfigError("--off-hours needs --shift-hours")
            if not self.off_hours >= 0:
                raise SimulationConfigError(f"--off-hours must be >= 0, got {self.off_hours}")
        if not self.reload_rate >= 0:
            raise SimulationConfigError(f"--reload-rate must be >= 0, got {self.reload_rate}")
        if not 0 <= self.reply_delay_min <= self.reply_delay_max:
            raise SimulationConfigError(
                "--reply-delay-min and --reply-delay-max must satisfy 0 <= min <= max, got "
                f"{self.reply_delay_min} and {self.reply_delay_max}"
            )
        if self.start.tzinfo is None:
            raise SimulationConfigError("the simulation start must be timezone-aware")

    @property
    def customer_count(self) -> int:
        return self.customers if self.customers is not None else max(1, self.messages // 4)

    @property
    def duration(self) -> timedelta:
        return timedelta(hours=self.hours)

    @property
    def end(self) -> datetime:
        return self.start + self.duration

    @property
    def rest_hours(self) -> float:
        """Hours off between two shifts (0 when agents never leave)."""
        if self.shift_hours == 0:
            return 0.0
        if self.off_hours is not None:
            return self.off_hours
        return max(0.0, 24.0 - self.shift_hours)

    def describe(self) -> dict[str, object]:
        """The run's parameters as plain JSON-able values (echoed in the JSON and HTML reports)."""
        s = self.settings
        return {
            "agents": self.agents,
            "messages": self.messages,
            "customers": self.customer_count,
            "hours": self.hours,
            "seed": self.seed,
            "duplicate_rate": self.duplicate_rate,
            "shift_hours": self.shift_hours,
            "off_hours": self.rest_hours,
            "absence_rate": self.absence_rate,
            "reload_rate": self.reload_rate,
            "reply_delay_min": self.reply_delay_min,
            "reply_delay_max": self.reply_delay_max,
            "close_rate": self.close_rate,
            "capacity": s.agent_capacity,
            "routing_policy": s.routing_policy.value,
            "response_timeout_seconds": s.response_timeout.total_seconds(),
            "inactivity_timeout_seconds": s.inactivity_timeout.total_seconds(),
            "timeout_check_interval_seconds": s.timeout_check_interval.total_seconds(),
            "disconnect_grace_seconds": s.disconnect_grace.total_seconds(),
            "scheduled_distribution_time": s.scheduled_distribution_time.strftime("%H:%M"),
            "timezone": s.timezone,
            "start": self.start.isoformat(),
        }


def _at_least(option: str, value: int, minimum: int) -> None:
    if value < minimum:
        raise SimulationConfigError(f"{option} must be >= {minimum}, got {value}")
