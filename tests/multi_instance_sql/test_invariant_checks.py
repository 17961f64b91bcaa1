"""The invariant checks of ``tests/support/invariants.py`` do fail on broken runs: each check is fed a small
final state and event log, once consistent and once with the violation it exists to catch."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

from dispatcher_adapters.memory import MemoryStore
from dispatcher_core.entities import Conversation, Message, MessageDirection, PendingMessage, QueuePosition
from dispatcher_core.events import ConversationAssigned, QueueUpdated
from dispatcher_core.testing.conformance._support import at, conversation


def _message(conv: Conversation, external_id: str, delivered_to: str | None) -> Message:
    return Message(
        id=f"m-{external_id}",
        conversation_id=conv.id,
        business_number_id=conv.business_number_id,
        external_id=external_id,
        direction=MessageDirection.INBOUND,
        kind="text",
        text=None,
        received_at=at(0),
        delivered_to=delivered_to,
    )


def _event(stamp: int, **fields: Any) -> dict[str, Any]:
    return {"worker": "w1", "stamp": stamp, "batch": stamp, "index": 0, **fields}


def _assigned(stamp: int, cid: str, agent: str, message_ids: list[str]) -> dict[str, Any]:
    return _event(stamp, type="conversation.assigned", conversation_id=cid, agent_id=agent, message_ids=message_ids)


def test_i1_accepts_a_consistent_history_and_catches_a_double_assignment(invariants: ModuleType) -> None:
    conv = conversation("c1", agent="a2")
    snapshot = invariants.Snapshot([conv], [], [])
    good = [
        _assigned(1, conv.id, "a1", []),
        _event(2, type="conversation.released", conversation_id=conv.id, agent_id="a1"),
        _assigned(3, conv.id, "a2", []),
    ]
    assert invariants.check_i1(snapshot, good) == []
    double = [_assigned(1, conv.id, "a1", []), _assigned(3, conv.id, "a2", [])]
    assert any("while held by a1" in p for p in invariants.check_i1(snapshot, double))
    two_open = invariants.Snapshot([conv, replace(conv, id="other")], [], [])
    assert any("2 open conversations" in p for p in invariants.check_i1(two_open, good))
    assert any("the store says" in p for p in invariants.check_i1(snapshot, good[:1]))


def test_i2_catches_lost_duplicated_and_undelivered_messages(invariants: ModuleType) -> None:
    conv = conversation("c1", agent="a1")
    delivered = _message(conv, "w1", "a1")
    waiting = _message(conv, "w2", None)
    events = [_assigned(1, conv.id, "a1", [delivered.id])]
    accepted = {("bn1", "w1"), ("bn1", "w2")}
    pending = PendingMessage("p1", conv.id, waiting.id, at(0))
    assert invariants.check_i2(invariants.Snapshot([conv], [delivered, waiting], [pending]), events, accepted) == []
    problems = invariants.check_i2(invariants.Snapshot([conv], [delivered, waiting], []), events, accepted)
    assert any("neither delivered nor pending" in p for p in problems)
    problems = invariants.check_i2(invariants.Snapshot([conv], [delivered], [pending]), events, accepted)
    assert any("was not stored" in p for p in problems)
    twice = replace(delivered, id="m-copy")
    problems = invariants.check_i2(
        invariants.Snapshot([conv], [delivered, twice, waiting], [pending]), events, accepted
    )
    assert any("stored 2 times" in p for p in problems)
    problems = invariants.check_i2(invariants.Snapshot([conv], [delivered, waiting], [pending]), [], accepted)
    assert any("never received it" in p for p in problems)


def test_i4_catches_an_unfair_period_and_an_assignment_to_an_agent_offline(invariants: ModuleType) -> None:
    queue = _event(1, type="queue.updated", agents=["a1", "a2"])
    fair = [queue, *(_assigned(2 + i, f"c{i}", agent, []) for i, agent in enumerate(["a1", "a2", "a1"]))]
    assert invariants.check_i4(fair) == []
    unfair = [queue, *(_assigned(2 + i, f"c{i}", agent, []) for i, agent in enumerate(["a1", "a1", "a2", "a1"]))]
    assert any("unfair" in p for p in invariants.check_i4(unfair))
    assert any("not online" in p for p in invariants.check_i4([queue, _assigned(2, "c1", "a3", [])]))


def test_i7_wants_one_run_per_claimed_slot(invariants: ModuleType) -> None:
    assert invariants.check_i7({"distribution": 1}, {"distribution": 1}) == []
    assert invariants.check_i7({"distribution": 2}, {"distribution": 1}) != []
    assert invariants.check_i7({}, {}) == []
    assert invariants.check_i7({"distribution": 0}, {"distribution": 0}) != []


def test_the_recorder_orders_events_by_commit_stamp(tmp_path: Path, invariants: ModuleType) -> None:
    """Two workers (tasks, each with its own context): the first to commit publishes last; the events still
    load back in commit order."""
    factory = invariants.stamped(MemoryStore().unit_of_work)
    early = invariants.EventRecorder(tmp_path / "early.jsonl", "early")
    late = invariants.EventRecorder(tmp_path / "late.jsonl", "late")
    first = ConversationAssigned("c1", "a1", "bn1", "x", None, (), "new", at(0))
    second = QueueUpdated((QueuePosition("a1", 1),))

    async def scenario() -> None:
        early_committed, late_published = asyncio.Event(), asyncio.Event()

        async def slow_publisher() -> None:
            async with factory() as uow:
                await uow.commit()
            early_committed.set()
            await late_published.wait()
            await early.publish([first])

        async def fast_publisher() -> None:
            await early_committed.wait()
            async with factory() as uow:
                await uow.commit()
            await late.publish([second])
            late_published.set()

        await asyncio.gather(slow_publisher(), fast_publisher())

    asyncio.run(scenario())
    assert (tmp_path / "late.jsonl").read_text().count("\n") == 1
    loaded = invariants.load_events([tmp_path / "late.jsonl", tmp_path / "early.jsonl"])
    assert [e["type"] for e in loaded] == ["conversation.assigned", "queue.updated"]
    assert [e["worker"] for e in loaded] == ["early", "late"]
