"""Conformance suite of :class:`~dispatcher_core.ports.PendingStore`."""

from __future__ import annotations

from dispatcher_core.ports import UnitOfWork, UnitOfWorkFactory
from dispatcher_core.testing.conformance._support import ConformanceSuite, conversation, message, pending, write

__all__ = ["PendingStoreConformance"]


class PendingStoreConformance(ConformanceSuite):
    """:class:`~dispatcher_core.ports.PendingStore`: pending messages list in arrival order (all, per
    conversation, with a limit) and count; ``remove`` succeeds once only; uncommitted adds and removes are
    discarded. Uses ``uow.pending`` (and ``uow.conversations`` to create the messages it refers to)."""

    async def test_pending_messages_keep_arrival_order(self, uow_factory: UnitOfWorkFactory) -> None:
        a, b = conversation("c1"), conversation("c2")
        items = []

        async def add_all(uow: UnitOfWork) -> None:
            await uow.conversations.add(a)
            await uow.conversations.add(b)
            for i, conv in enumerate((a, b, a, b, a)):
                msg = message(conv, f"wamid.{i}", minute=i)
                await uow.conversations.add_message(msg)
                item = pending(msg, minute=i)
                items.append(item)
                await uow.pending.add(item)

        await write(uow_factory, add_all)
        async with uow_factory() as uow:
            assert list(await uow.pending.list()) == items
            assert list(await uow.pending.list(a.id)) == [items[0], items[2], items[4]]
            assert list(await uow.pending.list(b.id)) == [items[1], items[3]]
            assert list(await uow.pending.list(limit=2)) == items[:2]
            assert await uow.pending.list("nothing") == []
            assert await uow.pending.count() == 5

    async def test_remove_is_once_only(self, uow_factory: UnitOfWorkFactory) -> None:
        conv = conversation("c1")
        msg = message(conv, "wamid.1")
        item = pending(msg)

        async def add_all(uow: UnitOfWork) -> None:
            await uow.conversations.add(conv)
            await uow.conversations.add_message(msg)
            await uow.pending.add(item)

        await write(uow_factory, add_all)

        async def remove_twice(uow: UnitOfWork) -> None:
            assert await uow.pending.remove(item.id)
            assert not await uow.pending.remove(item.id)

        await write(uow_factory, remove_twice)
        async with uow_factory() as uow:
            assert await uow.pending.count() == 0
            assert not await uow.pending.remove(item.id)

    async def test_uncommitted_changes_are_discarded(self, uow_factory: UnitOfWorkFactory) -> None:
        conv = conversation("c1")
        kept, dropped = message(conv, "wamid.1"), message(conv, "wamid.2", minute=1)
        kept_item = pending(kept)

        async def add_all(uow: UnitOfWork) -> None:
            await uow.conversations.add(conv)
            await uow.conversations.add_message(kept)
            await uow.conversations.add_message(dropped)
            await uow.pending.add(kept_item)

        await write(uow_factory, add_all)
        async with uow_factory() as uow:
            await uow.pending.add(pending(dropped, minute=1))
            assert await uow.pending.remove(kept_item.id)
        async with uow_factory() as uow:
            assert list(await uow.pending.list()) == [kept_item]
