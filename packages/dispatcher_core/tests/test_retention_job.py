"""The retention job purges old closed conversations once per slot, whatever the number of instances."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dispatcher_adapters.memory import MemoryPurge, MemoryStore
from dispatcher_core import DispatcherOrchestrator, IncomingMessage
from dispatcher_core.services.retention import RetentionJob
from dispatcher_core.testing import ManualClock

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class _Events:
    async def publish(self, events: object) -> None:
        return None


async def test_old_closed_conversations_go_once_per_slot_and_open_ones_stay() -> None:
    store, clock = MemoryStore(), ManualClock(T0)
    orchestrator = DispatcherOrchestrator(uow_factory=store.unit_of_work, publisher=_Events(), clock=clock)
    await orchestrator.handle_agent_connected("a1", "s1")
    closed = await orchestrator.handle_incoming_message(IncomingMessage("bn", "c1", "w1", text="hi"))
    assert closed.conversation_id is not None
    await orchestrator.close_conversation("a1", closed.conversation_id)
    still_open = await orchestrator.handle_incoming_message(IncomingMessage("bn", "c2", "w2", text="hello"))
    jobs = [
        RetentionJob(uow_factory=store.unit_of_work, purge=MemoryPurge(store), clock=clock, keep=timedelta(days=30))
        for _ in range(2)  # two instances
    ]
    assert await jobs[0].run() == 0  # nothing old enough yet
    clock.advance(timedelta(days=31))
    assert await jobs[1].run() == 1
    assert await jobs[0].run() is None  # same slot: already run by the other instance
    async with store.unit_of_work() as uow:
        assert await uow.conversations.get(closed.conversation_id) is None
        assert still_open.conversation_id is not None
        assert await uow.conversations.get(still_open.conversation_id) is not None
