"""Conformance suite of :class:`~dispatcher_core.ports.UnitOfWork`: atomicity and isolation."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from dispatcher_core.entities import AgentPresence
from dispatcher_core.errors import ConcurrencyConflict, ConversationAlreadyOpen, InvalidInput
from dispatcher_core.ports import UnitOfWork, UnitOfWorkFactory
from dispatcher_core.testing.conformance._support import ConformanceSuite, at, conversation, message, pending, write

__all__ = ["UnitOfWorkConformance"]


class _Boom(Exception):
    pass


async def _snapshot(uow_factory: UnitOfWorkFactory) -> tuple[object, ...]:
    async with uow_factory() as uow:
        return (
            list(await uow.conversations.list(limit=1000)),
            list(await uow.pending.list()),
            list(await uow.queue.list()),
            list(await uow.presence.list()),
        )


class UnitOfWorkConformance(ConformanceSuite):
    """:class:`~dispatcher_core.ports.UnitOfWork` itself, across every port: nothing applies without
    ``commit`` (leaving the block, an exception, ``rollback()``); ``rollback()`` discards the writes made so far
    at once (a wrapper that forgets to delegate it fails); ``commit`` is once only (a wrapper that commits twice
    fails); a failed unit of work leaves no partial write; concurrent read-modify-write cycles lose no update;
    unique keys hold under concurrency (I1, I2); a unit of work reads its own writes."""

    async def test_nothing_is_applied_without_commit(self, uow_factory: UnitOfWorkFactory) -> None:
        before = await _snapshot(uow_factory)
        conv = conversation("c1")
        msg = message(conv, "wamid.1")

        async def everything(uow: UnitOfWork) -> None:
            await uow.conversations.add(conv)
            await uow.conversations.add_message(msg)
            await uow.pending.add(pending(msg))
            await uow.queue.add("a1")
            await uow.presence.save(AgentPresence.offline("a1", at(0)).connect("s", at(0)))
            await uow.slots.claim("job", "slot", at(0))

        async with uow_factory() as uow:
            await everything(uow)
        with pytest.raises(_Boom):
            async with uow_factory() as uow:
                await everything(uow)
                raise _Boom
        async with uow_factory() as uow:
            await everything(uow)
            await uow.rollback()
        assert await _snapshot(uow_factory) == before
        async with uow_factory() as uow:
            assert await uow.conversations.get_messages(conv.id) == []
            assert await uow.slots.claim("job", "slot", at(0))
        # and the same work commits cleanly afterwards: nothing half-applied was left behind
        await write(uow_factory, everything)
        async with uow_factory() as uow:
            assert await uow.conversations.get(conv.id) == conv
            assert list(await uow.conversations.get_messages(conv.id)) == [msg]

    async def test_rollback_discards_the_writes_made_so_far(self, uow_factory: UnitOfWorkFactory) -> None:
        """``rollback()`` takes effect at once: the unit of work no longer reads what it wrote, goes on, and a
        later ``commit`` applies only what came after. A wrapper that forgets to delegate ``rollback`` fails."""
        dropped, kept = conversation("c1"), conversation("c2")
        async with uow_factory() as uow:
            await uow.conversations.add(dropped)
            await uow.queue.add("a-dropped")
            await uow.slots.claim("job", "dropped", at(0))
            await uow.rollback()
            assert await uow.conversations.get(dropped.id) is None
            assert list(await uow.queue.list()) == []
            await uow.conversations.add(kept)
            await uow.queue.add("a-kept")
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.conversations.get(dropped.id) is None
            assert await uow.conversations.get(kept.id) == kept
            assert list(await uow.queue.list()) == ["a-kept"]
            assert await uow.slots.claim("job", "dropped", at(0))

    async def test_commit_is_once_only(self, uow_factory: UnitOfWorkFactory) -> None:
        """A second ``commit`` of one unit of work raises ``InvalidInput`` and changes nothing: a unit of work is
        one cycle. A wrapper that commits twice (in ``commit`` and again on exit, say) fails."""
        conv = conversation("c1")
        async with uow_factory() as uow:
            await uow.conversations.add(conv)
            await uow.commit()
            with pytest.raises(InvalidInput):
                await uow.commit()
        async with uow_factory() as uow:
            assert await uow.conversations.get(conv.id) == conv
            assert len(await uow.conversations.list()) == 1

    async def test_a_failed_unit_of_work_leaves_no_partial_write(self, uow_factory: UnitOfWorkFactory) -> None:
        existing = conversation("c1")
        await write(uow_factory, lambda uow: uow.conversations.add(existing))
        before = await _snapshot(uow_factory)
        with pytest.raises(ConversationAlreadyOpen):
            async with uow_factory() as uow:
                await uow.queue.add("a1")
                await uow.conversations.add(conversation("c2"))
                await uow.conversations.add(conversation("c1"))
                await uow.commit()
        assert await _snapshot(uow_factory) == before

    async def test_concurrent_read_modify_write_loses_no_update(self, uow_factory: UnitOfWorkFactory) -> None:
        """Twelve concurrent cycles each read a conversation and save it with one more unit in
        ``customer_name``; conflicts are retried like the orchestrator does. None may be lost."""
        conv = replace(conversation("c1"), customer_name="0")
        await write(uow_factory, lambda uow: uow.conversations.add(conv))

        async def increment() -> None:
            for _ in range(300):
                try:
                    async with uow_factory() as uow:
                        current = await uow.conversations.get(conv.id)
                        assert current is not None
                        await uow.conversations.save(
                            replace(current, customer_name=str(int(current.customer_name or 0) + 1))
                        )
                        await uow.commit()
                        return
                except ConcurrencyConflict:
                    await asyncio.sleep(0.001)
            raise AssertionError("too many conflicts")

        await asyncio.gather(*(increment() for _ in range(12)))
        async with uow_factory() as uow:
            final = await uow.conversations.get(conv.id)
        assert final is not None
        assert final.customer_name == "12"
        assert final.version == 12

    async def test_concurrent_opens_of_one_key_leave_one_conversation(self, uow_factory: UnitOfWorkFactory) -> None:
        outcomes: list[str] = []

        async def open_one(index: int) -> None:
            try:
                async with uow_factory() as uow:
                    await uow.conversations.add(conversation("same", cid=f"conv-same-{index}"))
                    await uow.commit()
                outcomes.append("opened")
            except ConversationAlreadyOpen:
                outcomes.append("refused")

        await asyncio.gather(*(open_one(i) for i in range(6)))
        assert sorted(outcomes) == ["opened"] + ["refused"] * 5
        async with uow_factory() as uow:
            assert len(await uow.conversations.list()) == 1

    async def test_concurrent_duplicates_store_one_message(self, uow_factory: UnitOfWorkFactory) -> None:
        conv = conversation("c1")
        await write(uow_factory, lambda uow: uow.conversations.add(conv))
        stored: list[bool] = []

        async def deliver() -> None:
            for _ in range(100):
                try:
                    async with uow_factory() as uow:
                        added = await uow.conversations.add_message(message(conv, "wamid.dup"))
                        if added:
                            await uow.commit()
                    stored.append(added)
                    return
                except ConcurrencyConflict:
                    await asyncio.sleep(0.001)
            raise AssertionError("too many conflicts")

        await asyncio.gather(*(deliver() for _ in range(6)))
        assert sorted(stored) == [False] * 5 + [True]
        async with uow_factory() as uow:
            assert len(await uow.conversations.get_messages(conv.id)) == 1

    async def test_a_unit_of_work_reads_its_own_writes(self, uow_factory: UnitOfWorkFactory) -> None:
        waiting = conversation("c1", pending_since=0)
        first = message(waiting, "wamid.1")

        async def setup(uow: UnitOfWork) -> None:
            await uow.conversations.add(waiting)
            await uow.conversations.add_message(first)
            await uow.pending.add(pending(first))
            for agent in ("a1", "a2"):
                await uow.queue.add(agent)

        await write(uow_factory, setup)
        async with uow_factory() as uow:
            stored = await uow.conversations.get(waiting.id)
            assert stored is not None
            assigned = stored.assign_to("a1", at(1))
            await uow.conversations.save(assigned)
            second = message(waiting, "wamid.2", minute=1, delivered_to="a1")
            assert await uow.conversations.add_message(second)
            [item] = await uow.pending.list(waiting.id)
            assert await uow.pending.remove(item.id)
            await uow.conversations.mark_delivered([first.id], "a1")
            await uow.queue.move_to_end("a1")
            opened = conversation("c2", agent="a2")
            await uow.conversations.add(opened)

            assert await uow.conversations.get(waiting.id) == assigned.with_version(assigned.version + 1)
            assert await uow.conversations.get_open_by_key("bn1", "c2") == opened
            assert [m.id for m in await uow.conversations.get_messages(waiting.id)] == [first.id, second.id]
            assert [m.delivered_to for m in await uow.conversations.get_messages(waiting.id)] == ["a1", "a1"]
            assert await uow.pending.list() == []
            assert await uow.conversations.list_pending() == []
            assert list(await uow.queue.head(2)) == ["a2", "a1"]
            assert dict(await uow.conversations.count_active_by_agent()) == {"a1": 1, "a2": 1}
            assert [c.id for c in await uow.conversations.list_by_agent("a1")] == [waiting.id]
            assert not await uow.conversations.add_message(message(waiting, "wamid.2", minute=2))
            await uow.commit()
        async with uow_factory() as uow:
            assert [m.id for m in await uow.conversations.get_messages(waiting.id)] == [first.id, second.id]
