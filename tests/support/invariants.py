"""Invariants of docs/architecture.md checked after a multi-instance run, from the store's final state and the events
every instance published. Store-agnostic: SQL and Redis multi-process tests both use it.

Recording, in each worker process:

* :func:`stamped` wraps a :class:`~dispatcher_core.ports.UnitOfWorkFactory` so that every ``commit`` first
  takes a stamp from ``CLOCK_MONOTONIC`` (one clock for every process of the machine). A unit of work
  stamps after all its writes and before its commit, so two units of work that wrote the same row (or took the
  same queue lock) are stamped in the order they committed: the later one could only write after the earlier
  one committed. That gives the event logs of all processes one order where it matters.
* :class:`EventRecorder` is the worker's :class:`~dispatcher_core.ports.EventPublisher`: one JSON line per
  event, with the stamp of the commit that produced it.

Checking, in the test: :func:`load_events`, :func:`take_snapshot`, then :func:`check_i1`, :func:`check_i2`,
:func:`check_i4`, :func:`check_i7`; each returns a list of violations (empty when the invariant holds).

Import it as ``tests.support.invariants`` with the repository root on ``sys.path`` (a worker script), or by
path with ``importlib.util.spec_from_file_location`` (a test module: pytest does not put the root on the path).
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from dispatcher_core.entities import Conversation, ConversationStatus, Message, PendingMessage
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
from dispatcher_core.ports import (
    ConversationRepository,
    EventJournal,
    OutboxRepository,
    PendingStore,
    PresenceRepository,
    QueueRepository,
    SlotClaims,
    UnitOfWork,
    UnitOfWorkFactory,
)

__all__ = [
    "EventRecorder",
    "Snapshot",
    "check_i1",
    "check_i2",
    "check_i4",
    "check_i7",
    "event_record",
    "load_events",
    "stamped",
    "take_snapshot",
]

Record = dict[str, Any]
_last_commit_stamp: ContextVar[int] = ContextVar("last_commit_stamp", default=0)


# ---------------------------------------------------------------------------------------------- recording


class _StampedUnitOfWork:
    __slots__ = ("_inner",)

    def __init__(self, inner: UnitOfWork) -> None:
        self._inner = inner

    @property
    def conversations(self) -> ConversationRepository:
        return self._inner.conversations

    @property
    def pending(self) -> PendingStore:
        return self._inner.pending

    @property
    def queue(self) -> QueueRepository:
        return self._inner.queue

    @property
    def presence(self) -> PresenceRepository:
        return self._inner.presence

    @property
    def slots(self) -> SlotClaims:
        return self._inner.slots

    @property
    def events(self) -> EventJournal:
        return self._inner.events

    @property
    def outbox(self) -> OutboxRepository:
        return self._inner.outbox

    async def __aenter__(self) -> Self:
        await self._inner.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._inner.__aexit__(exc_type, exc, tb)

    async def commit(self) -> None:
        _last_commit_stamp.set(time.clock_gettime_ns(time.CLOCK_MONOTONIC))
        await self._inner.commit()

    async def rollback(self) -> None:
        await self._inner.rollback()


def stamped(factory: UnitOfWorkFactory) -> UnitOfWorkFactory:
    """``factory`` whose units of work stamp their commits (see the module docstring)."""

    def make() -> UnitOfWork:
        return _StampedUnitOfWork(factory())

    return make


def event_record(event: DomainEvent) -> Record:
    """The fields of ``event`` the checks need, as JSON-ready values."""
    match event:
        case ConversationAssigned():
            return {
                "type": event.type,
                "conversation_id": event.conversation_id,
                "agent_id": event.agent_id,
                "previous_agent_id": event.previous_agent_id,
                "reason": event.reason,
                "message_ids": [m.id for m in event.messages],
            }
        case MessageReceived():
            return {
                "type": event.type,
                "conversation_id": event.conversation_id,
                "agent_id": event.agent_id,
                "message_id": event.message.id,
            }
        case ConversationReleased() | ConversationClosed():
            return {"type": event.type, "conversation_id": event.conversation_id, "agent_id": event.agent_id}
        case ConversationPending():
            return {"type": event.type, "conversation_id": event.conversation_id}
        case QueueUpdated():
            return {"type": event.type, "agents": [p.agent_id for p in event.positions]}
        case AgentStatusChanged():
            return {"type": event.type, "agent_id": event.agent_id, "status": event.status.value}
    raise AssertionError(f"unknown event {event!r}")


class EventRecorder:
    """An :class:`~dispatcher_core.ports.EventPublisher` appending JSON lines to ``path`` (one file per worker)."""

    def __init__(self, path: Path, worker: str) -> None:
        self._path = path
        self._worker = worker
        self._batch = 0

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        self._batch += 1
        stamp = _last_commit_stamp.get()
        lines = [
            json.dumps({"worker": self._worker, "stamp": stamp, "batch": self._batch, "index": i, **event_record(e)})
            for i, e in enumerate(events)
        ]
        with self._path.open("a", encoding="utf-8") as out:  # small appends; the test reads after exit
            out.write("\n".join(lines) + "\n")


# ---------------------------------------------------------------------------------------------- checking


@dataclass(frozen=True)
class Snapshot:
    """A store's final state, read through the ports."""

    conversations: list[Conversation]
    messages: list[Message]
    pending: list[PendingMessage]


async def take_snapshot(uow_factory: UnitOfWorkFactory) -> Snapshot:
    async with uow_factory() as uow:
        conversations = list(await uow.conversations.list(limit=10_000_000))
        messages = [m for c in conversations for m in await uow.conversations.get_messages(c.id)]
        pending = list(await uow.pending.list())
    return Snapshot(conversations, messages, pending)


def load_events(paths: Iterable[Path]) -> list[Record]:
    """Every worker's events, in commit order (stamp), then publication order within a batch."""
    records = [json.loads(line) for path in paths if path.exists() for line in path.read_text().splitlines() if line]
    return sorted(records, key=lambda r: (r["stamp"], r["worker"], r["batch"], r["index"]))


def check_i1(snapshot: Snapshot, events: Sequence[Record]) -> list[str]:
    """I1: one open conversation per key (final state); per the event log a conversation is only assigned
    when it has no agent and only released by the agent holding it; the final owners match the store."""
    problems: list[str] = []
    keys = Counter((c.business_number_id, c.customer_id) for c in snapshot.conversations if c.is_open)
    problems += [f"I1: {n} open conversations for key {key}" for key, n in keys.items() if n > 1]
    owner: dict[str, str | None] = {}
    for event in events:
        cid: str = event.get("conversation_id", "")
        if event["type"] == "conversation.assigned":
            if owner.get(cid) is not None:
                problems.append(f"I1: {cid} assigned to {event['agent_id']} while held by {owner[cid]}")
            owner[cid] = event["agent_id"]
        elif event["type"] == "conversation.released":
            if owner.get(cid) != event["agent_id"]:
                problems.append(f"I1: {cid} released by {event['agent_id']}, held by {owner.get(cid)}")
            owner[cid] = None
        elif event["type"] == "conversation.closed":
            owner[cid] = None
    for c in snapshot.conversations:
        expected = c.agent_id if c.status is ConversationStatus.OPEN else None
        if owner.get(c.id) != expected:
            problems.append(f"I1: events say {c.id} is held by {owner.get(c.id)}, the store says {expected}")
    return problems


def check_i2(snapshot: Snapshot, events: Sequence[Record], accepted: set[tuple[str, str]]) -> list[str]:
    """I2: every accepted message is stored exactly once and is either delivered to one agent (who got it in
    an event) or still pending - never both, never neither."""
    problems: list[str] = []
    stored = Counter((m.business_number_id, m.external_id) for m in snapshot.messages)
    problems += [f"I2: {key} stored {n} times" for key, n in stored.items() if n > 1]
    problems += [f"I2: accepted {key} was not stored" for key in accepted - set(stored)]
    problems += [f"I2: {key} stored but never accepted" for key in set(stored) - accepted]
    pending_ids = Counter(p.message_id for p in snapshot.pending)
    problems += [f"I2: message {mid} pending {n} times" for mid, n in pending_ids.items() if n > 1]
    seen_by: dict[str, set[str]] = defaultdict(set)
    for event in events:
        if event["type"] == "message.received":
            seen_by[event["message_id"]].add(event["agent_id"])
        elif event["type"] == "conversation.assigned":
            for mid in event["message_ids"]:
                seen_by[mid].add(event["agent_id"])
    for m in snapshot.messages:
        if m.delivered_to is None and m.id not in pending_ids:
            problems.append(f"I2: message {m.id} is neither delivered nor pending")
        if m.delivered_to is not None and m.id in pending_ids:
            problems.append(f"I2: message {m.id} is delivered to {m.delivered_to} and still pending")
        if m.delivered_to is not None and m.delivered_to not in seen_by[m.id]:
            problems.append(f"I2: message {m.id} marked delivered to {m.delivered_to}, who never received it")
    return problems


def check_i4(events: Sequence[Record]) -> list[str]:
    """I4 with unlimited capacity: between two changes of the set of online agents (``queue.updated``), the
    agents online differ by at most one in new assignments, and nobody outside that set is assigned (I3)."""
    problems: list[str] = []
    online: list[str] = []
    counts: Counter[str] = Counter()
    period = 0

    def close_period() -> None:
        if online and counts:
            tally = {agent: counts[agent] for agent in online}
            if max(tally.values()) - min(tally.values()) > 1:
                problems.append(f"I4: unfair period #{period} with {sorted(online)}: {tally}")

    for event in events:
        if event["type"] == "queue.updated":
            close_period()
            online, counts, period = list(event["agents"]), Counter(), period + 1
        elif event["type"] == "conversation.assigned":
            if event["agent_id"] not in online:
                problems.append(f"I3: {event['conversation_id']} assigned to {event['agent_id']}, not online")
            counts[event["agent_id"]] += 1
    close_period()
    return problems


def check_i7(runs: Mapping[str, int], claims: Mapping[str, int]) -> list[str]:
    """I7: for each job, as many runs across all workers as distinct slots claimed in the store (one run per
    slot), and at least one (every worker tried)."""
    problems: list[str] = []
    for job in sorted(set(runs) | set(claims)):
        if runs.get(job, 0) != claims.get(job, 0) or claims.get(job, 0) == 0:
            problems.append(f"I7: job {job} ran {runs.get(job, 0)} times for {claims.get(job, 0)} claimed slots")
    return problems
