"""Conformance suite of :class:`~dispatcher_core.ports.SlotClaims` (I7)."""

from __future__ import annotations

import asyncio

from dispatcher_core.errors import ConcurrencyConflict
from dispatcher_core.ports import UnitOfWorkFactory
from dispatcher_core.testing.conformance._support import ConformanceSuite, at

__all__ = ["SlotClaimsConformance"]


async def _claim(uow_factory: UnitOfWorkFactory, job: str, slot: str) -> bool:
    for _ in range(100):
        try:
            async with uow_factory() as uow:
                claimed = await uow.slots.claim(job, slot, at(0))
                await uow.commit()
                return claimed
        except ConcurrencyConflict:
            await asyncio.sleep(0.001)
    raise AssertionError("too many conflicts")


async def _unclaim(uow_factory: UnitOfWorkFactory, job: str, slot: str) -> bool:
    async with uow_factory() as uow:
        given_back = await uow.slots.unclaim(job, slot)
        await uow.commit()
        return given_back


class SlotClaimsConformance(ConformanceSuite):
    """:class:`~dispatcher_core.ports.SlotClaims`: ``claim(job, slot)`` is true for exactly one committed
    claimer, concurrent claimers included (I7); an uncommitted claim does not count; ``unclaim`` (a failed
    run) makes the slot claimable again - once - when committed. Uses only ``uow.slots``."""

    async def test_a_slot_is_claimed_once(self, uow_factory: UnitOfWorkFactory) -> None:
        assert await _claim(uow_factory, "distribution", "2026-03-02")
        assert not await _claim(uow_factory, "distribution", "2026-03-02")
        assert await _claim(uow_factory, "distribution", "2026-03-03")
        assert await _claim(uow_factory, "timeouts", "2026-03-02")

    async def test_an_uncommitted_claim_does_not_count(self, uow_factory: UnitOfWorkFactory) -> None:
        async with uow_factory() as uow:
            assert await uow.slots.claim("job", "slot", at(0))
        assert await _claim(uow_factory, "job", "slot")

    async def test_an_unclaimed_slot_is_claimed_again_once(self, uow_factory: UnitOfWorkFactory) -> None:
        assert await _claim(uow_factory, "job", "slot")
        async with uow_factory() as uow:  # not committed: still claimed
            assert await uow.slots.unclaim("job", "slot")
        assert not await _claim(uow_factory, "job", "slot")
        assert await _unclaim(uow_factory, "job", "slot")
        assert not await _unclaim(uow_factory, "job", "slot")  # nothing left to give back
        assert not await _unclaim(uow_factory, "job", "other")
        results = await asyncio.gather(*(_claim(uow_factory, "job", "slot") for _ in range(4)))
        assert sorted(results) == [False] * 3 + [True]
        async with uow_factory() as uow:  # claimed and given back in one unit of work: as if never claimed
            assert await uow.slots.claim("job", "fresh", at(0))
            assert await uow.slots.unclaim("job", "fresh")
            await uow.commit()
        assert await _claim(uow_factory, "job", "fresh")

    async def test_concurrent_claimers_get_one_winner(self, uow_factory: UnitOfWorkFactory) -> None:
        results = await asyncio.gather(*(_claim(uow_factory, "job", "same") for _ in range(8)))
        assert sorted(results) == [False] * 7 + [True]
