"""Statistics for ``GET /admin/stats`` (seed: ``WhatsAppAnalyticsInterface``): messages in and out by status
over a time range, template performance, and per-agent assignment statistics with first-response times.

Where each number comes from:

* outbound messages and template performance: the outbox (durable, shared by every instance), counted by
  the repository over the messages *created* in the range;
* inbound messages: :meth:`WhatsAppAnalytics.record_inbound`, which the app calls for every accepted,
  non-duplicate webhook message;
* assignments and first-response times: listeners on the dispatcher's ``ConversationAssigned`` events and the
  sender's ``MessageSent`` events. The first response of an assignment is the agent's first reply queued after
  it, measured from the assignment to the moment the agent sent it (``requested_at``), not to Meta's answer.

The last two are kept in this process's memory, bounded by ``retention`` and ``max_samples``: with several
instances each one reports what it saw.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from dispatcher_core.errors import InvalidInput
from dispatcher_core.events import ConversationAssigned
from dispatcher_core.messaging.event_dispatcher import EventDispatcher
from dispatcher_core.messaging.events import MessageSent
from dispatcher_core.messaging.outbound import OutboundStatus
from dispatcher_core.ports.clock import Clock
from dispatcher_core.ports.outbox_repository import OutboxRepository

__all__ = [
    "AgentStats",
    "MessageStats",
    "StatsReport",
    "TemplatePerformance",
    "WhatsAppAnalytics",
    "percentile",
]

_REACHED_SENT = frozenset({OutboundStatus.SENT, OutboundStatus.DELIVERED, OutboundStatus.READ})
_REACHED_DELIVERED = frozenset({OutboundStatus.DELIVERED, OutboundStatus.READ})


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (``p`` in (0, 100]) of ``values``; ``None`` when there are none."""
    if not 0 < p <= 100:
        raise InvalidInput(f"percentile must be in (0, 100], got {p}")
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(p / 100 * len(ordered)), 1) - 1]


@dataclass(frozen=True, slots=True)
class MessageStats:
    start: datetime
    end: datetime
    inbound: int
    outbound: int
    outbound_by_status: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class TemplatePerformance:
    """``sent`` counts every message that reached sent or beyond, ``delivered`` delivered or read."""

    template_name: str
    total: int
    sent: int
    delivered: int
    read: int
    failed: int
    unknown: int

    @property
    def delivery_rate(self) -> float | None:
        return self.delivered / self.sent if self.sent else None

    @property
    def read_rate(self) -> float | None:
        return self.read / self.delivered if self.delivered else None


@dataclass(frozen=True, slots=True)
class AgentStats:
    agent_id: str
    assignments: int
    first_responses: int
    first_response_p50_seconds: float | None
    first_response_p95_seconds: float | None


@dataclass(frozen=True, slots=True)
class StatsReport:
    """Everything ``/admin/stats`` shows for one range; plain values, serialised by the app."""

    messages: MessageStats
    templates: tuple[TemplatePerformance, ...]
    agents: tuple[AgentStats, ...]


@dataclass(slots=True)
class _Assignment:
    agent_id: str
    at: datetime


@dataclass(slots=True)
class _Samples:
    assignments: deque[tuple[datetime, str]] = field(default_factory=deque)
    responses: deque[tuple[datetime, str, float]] = field(default_factory=deque)


class WhatsAppAnalytics:
    def __init__(
        self,
        outbox: OutboxRepository,
        clock: Clock,
        *,
        retention: timedelta = timedelta(days=7),
        max_samples: int = 100_000,
    ) -> None:
        if retention <= timedelta(0) or max_samples < 1:
            raise InvalidInput("analytics retention must be positive and max_samples >= 1")
        self._outbox = outbox
        self._clock = clock
        self._retention = retention
        self._max = max_samples
        self._inbound: deque[datetime] = deque(maxlen=max_samples)
        self._open: dict[str, _Assignment] = {}
        self._samples = _Samples()

    def subscribe(self, events: EventDispatcher) -> None:
        """Listen to the sender's events (first responses)."""
        events.subscribe(MessageSent, self.on_message_sent)

    def record_inbound(self, at: datetime | None = None) -> None:
        """One accepted customer message (call it for non-duplicates only)."""
        self._inbound.append(at or self._clock.now())

    async def on_domain_event(self, event: object) -> None:
        """A listener for the dispatcher's events (``EventPublisher`` subscribers): counts assignments."""
        if isinstance(event, ConversationAssigned):
            self._open[event.conversation_id] = _Assignment(event.agent_id, event.at)
            self._samples.assignments.append((event.at, event.agent_id))
            self._prune()

    async def on_message_sent(self, event: MessageSent) -> None:
        """The first reply of an assignment gives its first-response time."""
        if event.conversation_id is None or event.agent_id is None or event.reconciled:
            return
        assignment = self._open.get(event.conversation_id)
        if assignment is None or assignment.agent_id != event.agent_id or event.requested_at < assignment.at:
            return
        del self._open[event.conversation_id]
        seconds = (event.requested_at - assignment.at).total_seconds()
        self._samples.responses.append((assignment.at, event.agent_id, seconds))
        self._prune()

    async def report(self, start: datetime, end: datetime) -> StatsReport:
        return StatsReport(
            messages=await self.message_stats(start, end),
            templates=tuple(await self.template_performance(start, end)),
            agents=tuple(self.assignment_stats(start, end)),
        )

    async def message_stats(self, start: datetime, end: datetime) -> MessageStats:
        """Messages in and out in [``start``, ``end``); outbound by their current status."""
        _check_range(start, end)
        by_status: dict[str, int] = {}
        for row in await self._outbox.count_created_between(start, end):
            by_status[row.status.value] = by_status.get(row.status.value, 0) + row.count
        inbound = sorted(self._inbound)
        count_in = bisect.bisect_left(inbound, end) - bisect.bisect_left(inbound, start)
        return MessageStats(start, end, count_in, sum(by_status.values()), by_status)

    async def template_performance(self, start: datetime, end: datetime) -> list[TemplatePerformance]:
        """Per template used in [``start``, ``end``), most used first."""
        _check_range(start, end)
        per_template: dict[str, dict[OutboundStatus, int]] = {}
        for row in await self._outbox.count_created_between(start, end):
            if row.template_name is not None:
                counts = per_template.setdefault(row.template_name, {})
                counts[row.status] = counts.get(row.status, 0) + row.count
        result = [
            TemplatePerformance(
                template_name=name,
                total=sum(counts.values()),
                sent=sum(n for status, n in counts.items() if status in _REACHED_SENT),
                delivered=sum(n for status, n in counts.items() if status in _REACHED_DELIVERED),
                read=counts.get(OutboundStatus.READ, 0),
                failed=counts.get(OutboundStatus.FAILED, 0),
                unknown=counts.get(OutboundStatus.UNKNOWN, 0),
            )
            for name, counts in per_template.items()
        ]
        result.sort(key=lambda item: (-item.total, item.template_name))
        return result

    def assignment_stats(self, start: datetime, end: datetime) -> list[AgentStats]:
        """Per agent, assignments made in [``start``, ``end``) and the first-response times of those that got
        an answer."""
        _check_range(start, end)
        assignments: dict[str, int] = {}
        for at, agent_id in self._samples.assignments:
            if start <= at < end:
                assignments[agent_id] = assignments.get(agent_id, 0) + 1
        responses: dict[str, list[float]] = {}
        for assigned_at, agent_id, seconds in self._samples.responses:
            if start <= assigned_at < end:
                responses.setdefault(agent_id, []).append(seconds)
        return [
            AgentStats(
                agent_id=agent_id,
                assignments=assignments.get(agent_id, 0),
                first_responses=len(responses.get(agent_id, ())),
                first_response_p50_seconds=percentile(responses.get(agent_id, []), 50),
                first_response_p95_seconds=percentile(responses.get(agent_id, []), 95),
            )
            for agent_id in sorted(assignments.keys() | responses.keys())
        ]

    def _prune(self) -> None:
        horizon = self._clock.now() - self._retention
        samples = self._samples
        while samples.assignments and (len(samples.assignments) > self._max or samples.assignments[0][0] < horizon):
            samples.assignments.popleft()
        while samples.responses and (len(samples.responses) > self._max or samples.responses[0][0] < horizon):
            samples.responses.popleft()
        while len(self._open) > self._max:  # oldest assignments first (insertion order)
            del self._open[next(iter(self._open))]


def _check_range(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("statistics range: start and end must be timezone-aware")
    if end <= start:
        raise InvalidInput(f"statistics range: end ({end.isoformat()}) must be after start ({start.isoformat()})")
