"""The scripted part of a run, drawn up front from the seed: who writes when, and when agents come and go.

Drawing it before the run (rather than during) keeps the traffic independent of how the dispatcher reacts:
two runs with the same seed and different dispatcher settings see exactly the same customers and the same
shifts, so their reports can be compared. Each part has its own random stream, derived from the seed, for the
same reason: changing the duplicate rate does not move the shifts.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from dispatcher_app.simulation.config import SimulationConfig

__all__ = ["BUSINESS_NUMBER_ID", "Delivery", "PresenceChange", "Workload", "build_workload"]

#: The one WhatsApp business number the simulated customers write to.
BUSINESS_NUMBER_ID = "sim-business"
#: Meta retries a webhook delivery within minutes; a duplicate arrives up to this long after the original.
_MAX_DUPLICATE_DELAY_MS = 5 * 60 * 1000


@dataclass(frozen=True, slots=True)
class Delivery:
    """One webhook delivery of a customer message. ``duplicate`` marks a repeat of an earlier delivery (same
    WhatsApp message id), which the dispatcher must recognise and ignore."""

    at: datetime
    customer_id: str
    external_id: str
    duplicate: bool


@dataclass(frozen=True, slots=True)
class PresenceChange:
    """An agent's socket opens (``online``) or closes. ``reload`` marks the two halves of a brief reload."""

    at: datetime
    agent_id: str
    online: bool
    reload: bool = False


@dataclass(frozen=True, slots=True)
class Workload:
    agent_ids: tuple[str, ...]
    deliveries: tuple[Delivery, ...]
    presence: tuple[PresenceChange, ...]


def build_workload(config: SimulationConfig) -> Workload:
    width = len(str(config.agents))
    agent_ids = tuple(f"agent-{number:0{width}d}" for number in range(1, config.agents + 1))
    return Workload(
        agent_ids=agent_ids,
        deliveries=tuple(_deliveries(config)),
        presence=tuple(_presence(config, agent_ids)),
    )


def _deliveries(config: SimulationConfig) -> list[Delivery]:
    """``messages`` distinct messages at uniform random instants from customers picked uniformly at random
    (so with fewer customers than messages, many customers write several times); each message is delivered
    a second time with probability ``duplicate_rate``, up to five minutes later."""
    rng = random.Random(f"traffic:{config.seed}")
    span_ms = max(1, int(config.hours * 3_600_000))
    customers = config.customer_count
    width = len(str(customers))
    deliveries: list[Delivery] = []
    for number in range(config.messages):
        customer_id = f"customer-{rng.randrange(customers) + 1:0{width}d}"
        offset = rng.randrange(span_ms)
        external_id = f"wamid.SIM{number:08d}"
        deliveries.append(Delivery(_at(config, offset), customer_id, external_id, duplicate=False))
        if rng.random() < config.duplicate_rate:
            repeat = min(offset + rng.randrange(1, _MAX_DUPLICATE_DELAY_MS), span_ms - 1)
            deliveries.append(Delivery(_at(config, repeat), customer_id, external_id, duplicate=True))
    deliveries.sort(key=lambda delivery: (delivery.at, delivery.duplicate, delivery.external_id))
    return deliveries


def _presence(config: SimulationConfig, agent_ids: tuple[str, ...]) -> list[PresenceChange]:
    rng = random.Random(f"shifts:{config.seed}")
    changes: list[PresenceChange] = []
    for index, agent_id in enumerate(agent_ids):
        for start, end in _shifts(config, index):
            if rng.random() < config.absence_rate:
                continue  # the agent misses this shift
            changes.extend(_online_interval(config, rng, agent_id, start, end))
    changes.sort(key=lambda change: (change.at, change.agent_id))
    return changes


def _shifts(config: SimulationConfig, index: int) -> list[tuple[float, float]]:
    """The agent's working intervals in hours from the start, clipped to the run. Shifts are staggered evenly
    over one cycle (agent ``index`` starts ``index / agents`` of a cycle later than the first)."""
    if config.shift_hours == 0:
        return [(0.0, config.hours)]
    cycle = config.shift_hours + config.rest_hours
    start = index * cycle / config.agents
    if start > 0:
        start -= cycle  # the shift running at time zero, if any, started before it
    intervals = []
    while start < config.hours:
        end = start + config.shift_hours
        if end > 0:
            intervals.append((max(0.0, start), min(end, config.hours)))
        start += cycle
    return intervals


def _online_interval(
    config: SimulationConfig, rng: random.Random, agent_id: str, start: float, end: float
) -> list[PresenceChange]:
    """Connect at ``start``, disconnect at ``end`` (unless the run ends first), with page reloads between:
    exponential gaps at ``reload_rate`` per hour, each reload lasting 1 s to twice the grace period."""
    changes = [PresenceChange(_at_hours(config, start), agent_id, online=True)]
    grace = config.settings.disconnect_grace.total_seconds()
    cursor = start
    while config.reload_rate > 0:
        cursor += rng.expovariate(config.reload_rate)
        if cursor >= end:
            break
        back = cursor + rng.uniform(1.0, 1.0 + 2.0 * grace) / 3600.0
        changes.append(PresenceChange(_at_hours(config, cursor), agent_id, online=False, reload=True))
        if back >= end:
            return changes  # still away when the shift ends
        changes.append(PresenceChange(_at_hours(config, back), agent_id, online=True, reload=True))
        cursor = back
    if end < config.hours:
        changes.append(PresenceChange(_at_hours(config, end), agent_id, online=False))
    return changes


def _at(config: SimulationConfig, offset_ms: int) -> datetime:
    return config.start + timedelta(milliseconds=offset_ms)


def _at_hours(config: SimulationConfig, hours: float) -> datetime:
    """Instants are kept to the millisecond so they print and compare the same everywhere."""
    return _at(config, round(hours * 3_600_000))
