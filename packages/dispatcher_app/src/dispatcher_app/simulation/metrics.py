"""Figures of a run, computed from the domain events only (what any event listener of the app would see).

Measuring from the events rather than from the simulator's own bookkeeping means the report checks the
dispatcher, not the script that drives it: an assignment to an agent who was not online, or one beyond the
agent's capacity, shows up here as a violation whatever the simulator believed.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from dispatcher_core.entities import PresenceStatus
from dispatcher_core.events import (
    AgentStatusChanged,
    ConversationAssigned,
    ConversationClosed,
    ConversationPending,
    ConversationReleased,
    DomainEvent,
    MessageReceived,
    QueueUpdated,
)

__all__ = ["EventMetrics", "LoadSample", "percentile"]


@dataclass(frozen=True, slots=True)
class LoadSample:
    """Open conversations per agent at one instant (for the load-over-time chart)."""

    at: datetime
    loads: tuple[int, ...]
    pending: int


@dataclass
class EventMetrics:
    """Subscribe :meth:`on_event` to the event bus; read the counters at the end.

    ``capacity`` 0 means unlimited (no capacity violation possible).
    """

    agent_ids: tuple[str, ...]
    capacity: int = 0
    assignments: Counter[str] = field(default_factory=Counter)
    assignments_by_reason: Counter[str] = field(default_factory=Counter)
    reassignments: int = 0
    releases: Counter[str] = field(default_factory=Counter)
    closes: Counter[str] = field(default_factory=Counter)
    closed_while_pending: int = 0
    messages_delivered_live: int = 0
    pending_waits: list[float] = field(default_factory=list)
    load: Counter[str] = field(default_factory=Counter)
    max_load: Counter[str] = field(default_factory=Counter)
    assigned_to_unavailable: int = 0
    over_capacity: int = 0
    two_owners: int = 0
    idle_while_pending: int = 0
    samples: list[LoadSample] = field(default_factory=list)
    _owner: dict[str, str] = field(default_factory=dict)
    _by_agent: dict[str, dict[str, None]] = field(default_factory=dict)
    _pending_since: dict[str, datetime] = field(default_factory=dict)
    _ever_assigned: set[str] = field(default_factory=set)
    _status: dict[str, PresenceStatus] = field(default_factory=dict)
    _spare: dict[str, None] = field(default_factory=dict)  # online agents below capacity

    async def on_event(self, event: DomainEvent) -> None:
        match event:
            case ConversationAssigned():
                self._assigned(event)
            case ConversationReleased():
                self.releases[event.reason] += 1
                self._drop_owner(event.conversation_id)
            case ConversationPending():
                self._pending_since.setdefault(event.conversation_id, event.since)
            case ConversationClosed():
                self.closes[event.reason] += 1
                self._drop_owner(event.conversation_id)
                if self._pending_since.pop(event.conversation_id, None) is not None:
                    self.closed_while_pending += 1
            case MessageReceived():
                self.messages_delivered_live += 1
            case AgentStatusChanged():
                self._status[event.agent_id] = event.status
                self._refresh(event.agent_id)
            case QueueUpdated():
                pass

    def _assigned(self, event: ConversationAssigned) -> None:
        cid, agent = event.conversation_id, event.agent_id
        self.assignments[agent] += 1
        self.assignments_by_reason[event.reason] += 1
        if cid in self._ever_assigned:
            self.reassignments += 1
        self._ever_assigned.add(cid)
        if self._status.get(agent) is not PresenceStatus.ONLINE:
            self.assigned_to_unavailable += 1  # I3
        if cid in self._owner:
            self.two_owners += 1  # I1: assigned again without having been released first
            self._drop_owner(cid)
        self._owner[cid] = agent
        self._by_agent.setdefault(agent, {})[cid] = None
        self.load[agent] += 1
        self._refresh(agent)
        self.max_load[agent] = max(self.max_load[agent], self.load[agent])
        if self.capacity and self.load[agent] > self.capacity:
            self.over_capacity += 1
        since = self._pending_since.pop(cid, None)
        if since is not None:
            self.pending_waits.append((event.at - since).total_seconds())

    def _drop_owner(self, conversation_id: str) -> None:
        agent = self._owner.pop(conversation_id, None)
        if agent is not None:
            self.load[agent] -= 1
            del self._by_agent[agent][conversation_id]
            self._refresh(agent)

    def _refresh(self, agent: str) -> None:
        online = self._status.get(agent) is PresenceStatus.ONLINE
        if online and (not self.capacity or self.load[agent] < self.capacity):
            self._spare[agent] = None
        else:
            self._spare.pop(agent, None)

    def check_drained(self) -> None:
        """Call between two actions: a conversation still pending while an online agent has spare capacity
        breaks I6 (pending work is handed out as soon as someone can take it)."""
        if self._pending_since and self._spare:
            self.idle_while_pending += 1

    def sample(self, at: datetime) -> None:
        self.samples.append(
            LoadSample(at, tuple(self.load[agent] for agent in self.agent_ids), len(self._pending_since))
        )

    @property
    def still_pending(self) -> int:
        return len(self._pending_since)

    def owner(self, conversation_id: str) -> str | None:
        """The agent holding the conversation according to the events, if any."""
        return self._owner.get(conversation_id)

    def owned_by(self, agent_id: str) -> list[str]:
        """The agent's open conversations according to the events, oldest assignment first."""
        return list(self._by_agent.get(agent_id, ()))


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile of ``values`` (already sorted); ``None`` if empty. Always a sample value,
    so it is exact and prints the same on every platform."""
    if not values:
        return None
    rank = max(1, math.ceil(p / 100.0 * len(values)))
    return values[rank - 1]
