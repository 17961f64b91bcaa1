"""Conformance suite of :class:`~dispatcher_core.ports.QueueRepository`."""

from __future__ import annotations

import asyncio

from dispatcher_core.errors import ConcurrencyConflict
from dispatcher_core.ports import UnitOfWork, UnitOfWorkFactory
from dispatcher_core.testing.conformance._support import ConformanceSuite, write

__all__ = ["QueueRepositoryConformance"]


async def _queue(uow_factory: UnitOfWorkFactory) -> list[str]:
    async with uow_factory() as uow:
        return list(await uow.queue.list())


class QueueRepositoryConformance(ConformanceSuite):
    """:class:`~dispatcher_core.ports.QueueRepository`: ``add`` / ``remove`` / ``move_to_end`` keep the order
    and say whether they changed anything; ``head(n)`` is the first ``n``; a rollback restores the exact order;
    concurrent read-head-then-rotate cycles hand each head out once (fairness across instances, I4). Uses
    only ``uow.queue``."""

    async def test_add_remove_move_keep_order(self, uow_factory: UnitOfWorkFactory) -> None:
        async def build(uow: UnitOfWork) -> None:
            assert await uow.queue.add("a1")
            assert await uow.queue.add("a2")
            assert await uow.queue.add("a3")
            assert not await uow.queue.add("a1")

        await write(uow_factory, build)
        assert await _queue(uow_factory) == ["a1", "a2", "a3"]

        async def rotate(uow: UnitOfWork) -> None:
            assert await uow.queue.move_to_end("a1")
            assert not await uow.queue.move_to_end("ghost")
            assert await uow.queue.remove("a3")
            assert not await uow.queue.remove("a3")
            assert await uow.queue.add("a3")

        await write(uow_factory, rotate)
        assert await _queue(uow_factory) == ["a2", "a1", "a3"]
        async with uow_factory() as uow:
            assert list(await uow.queue.head(2)) == ["a2", "a1"]
            assert list(await uow.queue.head(10)) == ["a2", "a1", "a3"]
            assert list(await uow.queue.head(1)) == ["a2"]

    async def test_rollback_restores_the_exact_order(self, uow_factory: UnitOfWorkFactory) -> None:
        async def build(uow: UnitOfWork) -> None:
            for agent in ("a1", "a2", "a3", "a4"):
                await uow.queue.add(agent)

        await write(uow_factory, build)
        async with uow_factory() as uow:
            await uow.queue.move_to_end("a2")
            await uow.queue.remove("a3")
            await uow.queue.add("a5")
            await uow.queue.move_to_end("a1")
            assert list(await uow.queue.list()) == ["a4", "a2", "a5", "a1"]
        assert await _queue(uow_factory) == ["a1", "a2", "a3", "a4"]

    async def test_concurrent_rotations_hand_each_head_out_once(self, uow_factory: UnitOfWorkFactory) -> None:
        """Fairness across instances (I4): concurrent read-head-then-rotate cycles never pick the same head
        twice in a row; over 3 x 4 cycles each agent is picked exactly 3 times."""
        agents = ["a1", "a2", "a3", "a4"]

        async def build(uow: UnitOfWork) -> None:
            for agent in agents:
                await uow.queue.add(agent)

        await write(uow_factory, build)
        picked: list[str] = []

        async def take_head() -> None:
            for _ in range(200):
                try:
                    async with uow_factory() as uow:
                        head = (await uow.queue.list())[0]
                        await uow.queue.move_to_end(head)
                        await uow.commit()
                except ConcurrencyConflict:
                    await asyncio.sleep(0.001)
                    continue
                picked.append(head)
                return
            raise AssertionError("too many conflicts")

        await asyncio.gather(*(take_head() for _ in range(12)))
        assert sorted(picked) == sorted(agents * 3)
        assert await _queue(uow_factory) == agents
