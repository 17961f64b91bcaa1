"""Conformance suite of :class:`~dispatcher_core.ports.ConversationRepository`."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dispatcher_core.entities import ConversationStatus
from dispatcher_core.errors import ConcurrencyConflict, ConversationAlreadyOpen, ConversationNotFound
from dispatcher_core.ports import UnitOfWork, UnitOfWorkFactory
from dispatcher_core.testing.conformance._support import (
    ConformanceSuite,
    at,
    conversation,
    expect_conflict,
    message,
    write,
)

__all__ = ["ConversationRepositoryConformance"]


class ConversationRepositoryConformance(ConformanceSuite):
    """:class:`~dispatcher_core.ports.ConversationRepository`: conversations read back equal (version 0 after
    ``add``); a second open conversation per (business number, customer) is refused with
    ``ConversationAlreadyOpen`` and closing frees the key (I1); ``save`` is a compare-and-set on ``version``;
    ``add_message`` stores a (business number, WhatsApp id) once and returns ``False`` for a duplicate (I2);
    the listings (pending oldest first, per agent, admin filters, timeout candidates) and the active-load
    counts. Uses only ``uow.conversations``."""

    async def test_added_conversation_reads_back_equal_at_version_0(self, uow_factory: UnitOfWorkFactory) -> None:
        conv = replace(conversation("c1", agent="a1"), customer_name="Ada", oldest_unanswered_at=at(3))
        await write(uow_factory, lambda uow: uow.conversations.add(conv))
        async with uow_factory() as uow:
            assert await uow.conversations.get(conv.id) == conv
            assert await uow.conversations.get_open_by_key("bn1", "c1") == conv
            assert await uow.conversations.get("missing") is None
            assert await uow.conversations.get_open_by_key("bn1", "nobody") is None
            assert await uow.conversations.get_open_by_key("bn2", "c1") is None

    async def test_second_open_conversation_for_a_key_is_refused(self, uow_factory: UnitOfWorkFactory) -> None:
        first = conversation("c1")
        await write(uow_factory, lambda uow: uow.conversations.add(first))
        with pytest.raises(ConversationAlreadyOpen):
            async with uow_factory() as uow:
                await uow.conversations.add(conversation("c1"))
                await uow.commit()
        async with uow_factory() as uow:
            assert await uow.conversations.get_open_by_key("bn1", "c1") == first
            assert len(await uow.conversations.list()) == 1

    async def test_closing_frees_the_key(self, uow_factory: UnitOfWorkFactory) -> None:
        first = conversation("c1", agent="a1")
        await write(uow_factory, lambda uow: uow.conversations.add(first))
        await write(uow_factory, lambda uow: uow.conversations.save(first.close(at(5), "agent")))
        second = conversation("c1", opened=6)
        await write(uow_factory, lambda uow: uow.conversations.add(second))
        async with uow_factory() as uow:
            assert await uow.conversations.get_open_by_key("bn1", "c1") == second
            closed = await uow.conversations.get(first.id)
            assert closed is not None
            assert closed.status is ConversationStatus.CLOSED
            assert closed.close_reason == "agent"
            assert closed.closed_at == at(5)

    async def test_save_is_a_compare_and_set_on_version(self, uow_factory: UnitOfWorkFactory) -> None:
        conv = conversation("c1")
        await write(uow_factory, lambda uow: uow.conversations.add(conv))
        await write(uow_factory, lambda uow: uow.conversations.save(conv.assign_to("a1", at(1))))
        async with uow_factory() as uow:
            stored = await uow.conversations.get(conv.id)
        assert stored is not None
        assert stored.version == 1
        assert stored.agent_id == "a1"
        await expect_conflict(uow_factory, lambda uow: uow.conversations.save(conv.assign_to("a2", at(2))))
        async with uow_factory() as uow:
            assert await uow.conversations.get(conv.id) == stored
        await write(uow_factory, lambda uow: uow.conversations.save(stored.assign_to("a2", at(2))))
        async with uow_factory() as uow:
            again = await uow.conversations.get(conv.id)
        assert again is not None
        assert (again.version, again.agent_id) == (2, "a2")

    async def test_saving_an_unknown_conversation_fails(self, uow_factory: UnitOfWorkFactory) -> None:
        with pytest.raises((ConversationNotFound, ConcurrencyConflict)):
            async with uow_factory() as uow:
                await uow.conversations.save(conversation("c9"))
                await uow.commit()
        async with uow_factory() as uow:
            assert await uow.conversations.list() == []

    async def test_list_pending_is_oldest_first_with_limit(self, uow_factory: UnitOfWorkFactory) -> None:
        late = conversation("c1", opened=0, pending_since=30)
        early = conversation("c2", opened=5, pending_since=10)
        tie_older = conversation("c3", opened=1, pending_since=20)
        tie_newer = conversation("c4", opened=2, pending_since=20)
        assigned = conversation("c5", agent="a1")

        async def add_all(uow: UnitOfWork) -> None:
            for c in (late, early, tie_newer, tie_older, assigned):
                await uow.conversations.add(c)

        await write(uow_factory, add_all)
        async with uow_factory() as uow:
            ids = [c.id for c in await uow.conversations.list_pending()]
            assert ids == [early.id, tie_older.id, tie_newer.id, late.id]
            assert [c.id for c in await uow.conversations.list_pending(limit=1)] == [early.id]
            assert [c.id for c in await uow.conversations.list_pending(limit=2)] == [early.id, tie_older.id]

    async def test_count_pending_counts_what_list_pending_lists(self, uow_factory: UnitOfWorkFactory) -> None:
        """Own writes included: an assignment, a release and a new pending conversation in the same unit of
        work change the count at once; a rollback restores it."""
        a, b = conversation("c1", pending_since=1), conversation("c2", pending_since=2)
        held = conversation("c3", agent="a1")

        async def add_all(uow: UnitOfWork) -> None:
            await uow.conversations.add(a)
            await uow.conversations.add(b)
            await uow.conversations.add(held)

        async with uow_factory() as uow:
            assert await uow.conversations.count_pending() == 0
        await write(uow_factory, add_all)
        async with uow_factory() as uow:
            assert await uow.conversations.count_pending() == 2
            stored_a, stored_held = await uow.conversations.get(a.id), await uow.conversations.get(held.id)
            assert stored_a is not None
            assert stored_held is not None
            await uow.conversations.save(stored_a.assign_to("a2", at(3)))
            assert await uow.conversations.count_pending() == 1
            await uow.conversations.save(stored_held.release(at(4)))
            await uow.conversations.add(conversation("c4", pending_since=5))
            assert await uow.conversations.count_pending() == 3
            assert await uow.conversations.count_pending() == len(await uow.conversations.list_pending())
        async with uow_factory() as uow:
            assert await uow.conversations.count_pending() == 2

    async def test_pending_list_follows_assignment_and_release(self, uow_factory: UnitOfWorkFactory) -> None:
        a = conversation("c1", pending_since=1)
        b = conversation("c2", pending_since=2)

        async def add_all(uow: UnitOfWork) -> None:
            await uow.conversations.add(a)
            await uow.conversations.add(b)

        await write(uow_factory, add_all)
        await write(uow_factory, lambda uow: uow.conversations.save(a.assign_to("a1", at(3))))
        async with uow_factory() as uow:
            assert [c.id for c in await uow.conversations.list_pending(limit=1)] == [b.id]
            stored_a = await uow.conversations.get(a.id)
        assert stored_a is not None
        await write(uow_factory, lambda uow: uow.conversations.save(stored_a.release(at(4))))
        async with uow_factory() as uow:
            assert [c.id for c in await uow.conversations.list_pending()] == [b.id, a.id]

    async def test_list_by_agent_and_counts(self, uow_factory: UnitOfWorkFactory) -> None:
        first = conversation("c1", agent="a1", opened=1)
        second = conversation("c2", agent="a1", opened=2)
        other = conversation("c3", agent="a2", opened=3)
        closed = conversation("c4", agent="a1", opened=0)

        async def add_all(uow: UnitOfWork) -> None:
            for c in (second, other, first, closed):
                await uow.conversations.add(c)

        await write(uow_factory, add_all)
        await write(uow_factory, lambda uow: uow.conversations.save(closed.close(at(9), "agent")))
        async with uow_factory() as uow:
            assert [c.id for c in await uow.conversations.list_by_agent("a1")] == [first.id, second.id]
            assert await uow.conversations.list_by_agent("nobody") == []
            assert dict(await uow.conversations.count_active_by_agent()) == {"a1": 2, "a2": 1}

    async def test_list_filters_and_pages_most_recent_first(self, uow_factory: UnitOfWorkFactory) -> None:
        convs = [
            replace(conversation(f"c{i}", agent="a1" if i % 2 else None), last_activity_at=at(i)) for i in range(5)
        ]

        async def add_all(uow: UnitOfWork) -> None:
            for c in convs:
                await uow.conversations.add(c)

        await write(uow_factory, add_all)
        await write(uow_factory, lambda uow: uow.conversations.save(convs[1].close(at(10), "agent")))
        async with uow_factory() as uow:
            everything = await uow.conversations.list()
            assert [c.id for c in everything] == [convs[i].id for i in (4, 3, 2, 1, 0)]
            open_ones = await uow.conversations.list(status=ConversationStatus.OPEN)
            assert [c.id for c in open_ones] == [convs[i].id for i in (4, 3, 2, 0)]
            closed = await uow.conversations.list(status=ConversationStatus.CLOSED)
            assert [c.id for c in closed] == [convs[1].id]
            by_agent = await uow.conversations.list(agent_id="a1")
            assert [c.id for c in by_agent] == [convs[3].id]
            page = await uow.conversations.list(limit=2, offset=1)
            assert [c.id for c in page] == [convs[3].id, convs[2].id]

    async def test_timeout_candidates_cover_both_rules(self, uow_factory: UnitOfWorkFactory) -> None:
        waiting = replace(conversation("c1", agent="a1"), oldest_unanswered_at=at(0), last_activity_at=at(0))
        recent = replace(conversation("c2", agent="a1"), oldest_unanswered_at=at(50), last_activity_at=at(50))
        pending_wait = replace(conversation("c3"), oldest_unanswered_at=at(0), last_activity_at=at(0))
        idle = replace(conversation("c4", agent="a2"), last_activity_at=at(0))
        busy = replace(conversation("c5", agent="a2"), last_activity_at=at(55))

        async def add_all(uow: UnitOfWork) -> None:
            for c in (waiting, recent, pending_wait, idle, busy):
                await uow.conversations.add(c)

        await write(uow_factory, add_all)
        async with uow_factory() as uow:
            found = await uow.conversations.list_timeout_candidates(unanswered_before=at(10), inactive_before=at(10))
        ids = {c.id for c in found}
        assert waiting.id in ids
        assert idle.id in ids
        assert not ids & {recent.id, busy.id}

    async def test_messages_are_stored_once_per_business_number(self, uow_factory: UnitOfWorkFactory) -> None:
        conv = conversation("c1")
        other_business = conversation("c1", business="bn2")
        first, second = message(conv, "wamid.1", minute=1), message(conv, "wamid.2", minute=2)

        async def add_all(uow: UnitOfWork) -> None:
            await uow.conversations.add(conv)
            await uow.conversations.add(other_business)
            assert await uow.conversations.add_message(first)
            assert await uow.conversations.add_message(second)
            assert await uow.conversations.add_message(message(other_business, "wamid.1"))

        await write(uow_factory, add_all)

        async def duplicate(uow: UnitOfWork) -> None:
            assert not await uow.conversations.add_message(message(conv, "wamid.1", minute=3))

        await write(uow_factory, duplicate)
        async with uow_factory() as uow:
            assert list(await uow.conversations.get_messages(conv.id)) == [first, second]
            assert len(await uow.conversations.get_messages(other_business.id)) == 1
            assert await uow.conversations.get_messages("unknown") == []

    async def test_mark_delivered(self, uow_factory: UnitOfWorkFactory) -> None:
        conv = conversation("c1")
        msgs = [message(conv, f"wamid.{i}", minute=i) for i in range(3)]

        async def add_all(uow: UnitOfWork) -> None:
            await uow.conversations.add(conv)
            for m in msgs:
                await uow.conversations.add_message(m)

        await write(uow_factory, add_all)
        await write(uow_factory, lambda uow: uow.conversations.mark_delivered([msgs[0].id, msgs[2].id], "a7"))
        async with uow_factory() as uow:
            stored = await uow.conversations.get_messages(conv.id)
        assert [m.delivered_to for m in stored] == ["a7", None, "a7"]
