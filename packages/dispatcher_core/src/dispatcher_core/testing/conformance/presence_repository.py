"""Conformance suite of :class:`~dispatcher_core.ports.PresenceRepository`."""

from __future__ import annotations

from dataclasses import replace

from dispatcher_core.entities import AgentPresence, PresenceStatus
from dispatcher_core.ports import UnitOfWork, UnitOfWorkFactory
from dispatcher_core.testing.conformance._support import ConformanceSuite, at, expect_conflict, write

__all__ = ["PresenceRepositoryConformance"]


class PresenceRepositoryConformance(ConformanceSuite):
    """:class:`~dispatcher_core.ports.PresenceRepository`: presences (sockets, grace deadline) round-trip with
    their version bumped by each save; saving a stale version is a ``ConcurrencyConflict`` that changes
    nothing; ``list`` filters by status and orders by agent id. Uses only ``uow.presence``."""

    async def test_presence_round_trips_with_versions(self, uow_factory: UnitOfWorkFactory) -> None:
        online = AgentPresence.offline("a1", at(0)).connect("sock-1", at(1)).connect("sock-2", at(2))
        await write(uow_factory, lambda uow: uow.presence.save(online))
        async with uow_factory() as uow:
            stored = await uow.presence.get("a1")
            assert await uow.presence.get("nobody") is None
        assert stored == replace(online, version=1)
        assert stored.connections == frozenset({"sock-1", "sock-2"})
        grace = stored.disconnect("sock-1", at(3), at(4)).disconnect("sock-2", at(3), at(4))
        assert grace.status is PresenceStatus.GRACE
        await write(uow_factory, lambda uow: uow.presence.save(grace))
        async with uow_factory() as uow:
            again = await uow.presence.get("a1")
        assert again == replace(grace, version=2)
        assert again.grace_until == at(4)

    async def test_stale_presence_is_refused(self, uow_factory: UnitOfWorkFactory) -> None:
        first = AgentPresence.offline("a1", at(0)).connect("s", at(0))
        await write(uow_factory, lambda uow: uow.presence.save(first))
        await expect_conflict(uow_factory, lambda uow: uow.presence.save(first.connect("t", at(1))))
        await expect_conflict(uow_factory, lambda uow: uow.presence.save(AgentPresence.offline("a1", at(2))))
        async with uow_factory() as uow:
            assert await uow.presence.get("a1") == replace(first, version=1)

    async def test_list_by_status_ordered_by_agent(self, uow_factory: UnitOfWorkFactory) -> None:
        async def build(uow: UnitOfWork) -> None:
            await uow.presence.save(AgentPresence.offline("b", at(0)).connect("s", at(0)))
            await uow.presence.save(AgentPresence.offline("a", at(0)).connect("s", at(0)))
            await uow.presence.save(AgentPresence.offline("c", at(0)))

        await write(uow_factory, build)
        async with uow_factory() as uow:
            assert [p.agent_id for p in await uow.presence.list()] == ["a", "b", "c"]
            assert [p.agent_id for p in await uow.presence.list(PresenceStatus.ONLINE)] == ["a", "b"]
            assert [p.agent_id for p in await uow.presence.list(PresenceStatus.OFFLINE)] == ["c"]
            assert await uow.presence.list(PresenceStatus.GRACE) == []
