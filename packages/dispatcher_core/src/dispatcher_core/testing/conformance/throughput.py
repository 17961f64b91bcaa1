"""The conformance suite of :class:`~dispatcher_core.ports.ThroughputReservations`.

Subclass :class:`ThroughputReservationsConformance` and provide ``reservations``: a factory giving a new
adapter object on ONE shared store each time it is called (two objects stand for two instances).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from dispatcher_core.ports import ThroughputReservations
from dispatcher_core.testing.conformance._support import at

__all__ = ["ThroughputReservationsConformance"]

Factory = Callable[[], ThroughputReservations]
INTERVAL = timedelta(milliseconds=10)


class ThroughputReservationsConformance:
    async def test_slots_are_one_interval_apart_across_instances(self, reservations: Factory) -> None:
        first, second = reservations(), reservations()
        now = at(0)
        waits = await asyncio.gather(*(instance.reserve("number-1", INTERVAL, now) for instance in [first, second] * 5))
        assert sorted(waits) == [INTERVAL * n for n in range(10)]

    async def test_numbers_do_not_share_slots(self, reservations: Factory) -> None:
        instance = reservations()
        assert await instance.reserve("number-1", INTERVAL, at(0)) == timedelta(0)
        assert await instance.reserve("number-2", INTERVAL, at(0)) == timedelta(0)
        assert await instance.reserve("number-1", INTERVAL, at(0)) == INTERVAL

    async def test_unused_slots_are_not_saved_up(self, reservations: Factory) -> None:
        instance = reservations()
        assert await instance.reserve("number-1", INTERVAL, at(0)) == timedelta(0)
        later = at(1)  # a minute later: no burst of saved slots
        assert await instance.reserve("number-1", INTERVAL, later) == timedelta(0)
        assert await instance.reserve("number-1", INTERVAL, later) == INTERVAL
