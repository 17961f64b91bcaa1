"""Fakes shared by the WhatsApp tests: a sleeper that moves a manual clock, scripted in-process senders."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from dispatcher_core.messaging.outbound import OutboundMessage
from dispatcher_core.ports.message_sender import SendReceipt
from dispatcher_core.testing import ManualClock

__all__ = ["FakeSleeper", "RecordingSender", "ScriptedSender", "VirtualTimeSleeper"]


@dataclass
class FakeSleeper:
    """Implements the ``Sleeper``: records each wait and advances the clock by it instead of waiting."""

    clock: ManualClock
    waits: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if seconds > 0:
            self.clock.advance(timedelta(seconds=seconds))
        await asyncio.sleep(0)


@dataclass
class VirtualTimeSleeper:
    """A ``Sleeper`` for concurrent tasks: sleepers wake in order of their wake-up time, and the manual clock
    jumps to each wake-up time, once the tasks that can run have run (a few loop turns, enough for in-process
    fakes). Unlike :class:`FakeSleeper`, overlapping sleeps overlap in virtual time, as they would really."""

    clock: ManualClock
    waits: list[float] = field(default_factory=list)
    _heap: list[tuple[datetime, int, asyncio.Future[None]]] = field(default_factory=list)
    _order: itertools.count[int] = field(default_factory=itertools.count)
    _driver: asyncio.Task[None] | None = None

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        wake = self.clock.now() + timedelta(seconds=max(seconds, 0.0))
        heapq.heappush(self._heap, (wake, next(self._order), future))
        if self._driver is None or self._driver.done():
            self._driver = asyncio.create_task(self._drive())
        await future

    async def _drive(self) -> None:
        while self._heap:
            for _ in range(20):
                await asyncio.sleep(0)
            wake, _, future = heapq.heappop(self._heap)
            if wake > self.clock.now():
                self.clock.set(wake)
            if not future.done():
                future.set_result(None)


@dataclass
class RecordingSender:
    """A ``MessageSender`` that accepts everything, recording when (on the manual clock) and what it sent, and
    how many sends were in flight at once."""

    clock: ManualClock
    sent: list[tuple[datetime, OutboundMessage]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait_for(self, count: int) -> None:
        """Return once at least ``count`` sends were made."""
        while len(self.sent) < count:
            self._changed.clear()
            await self._changed.wait()

    async def send(self, message: OutboundMessage) -> SendReceipt:
        self.sent.append((self.clock.now(), message))
        self._changed.set()
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0)  # let other workers interleave, as a real request would
            return SendReceipt(wamid=f"wamid.rec.{next(self._ids)}")
        finally:
            self.in_flight -= 1


@dataclass
class ScriptedSender:
    """A ``MessageSender`` whose next outcomes are scripted: an exception to raise or ``None`` to succeed."""

    script: deque[BaseException | None] = field(default_factory=deque)
    calls: list[OutboundMessage] = field(default_factory=list)
    before_answer: Callable[[OutboundMessage], object] | None = None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait_for(self, count: int) -> None:
        """Return once at least ``count`` sends were attempted."""
        while len(self.calls) < count:
            self._changed.clear()
            await self._changed.wait()

    def then(self, *outcomes: BaseException | None) -> None:
        self.script.extend(outcomes)

    async def send(self, message: OutboundMessage) -> SendReceipt:
        self.calls.append(message)
        self._changed.set()
        outcome = self.script.popleft() if self.script else None
        if self.before_answer is not None:
            result = self.before_answer(message)
            if asyncio.iscoroutine(result):
                await result
        if outcome is not None:
            raise outcome
        return SendReceipt(wamid=f"wamid.scripted.{next(self._ids)}")
