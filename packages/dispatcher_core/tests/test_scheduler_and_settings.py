"""Scheduling arithmetic, settings validation, entities' guards."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from dispatcher_adapters.memory import MemoryEventBus, MemoryStore
from dispatcher_core import (
    Conversation,
    DispatcherOrchestrator,
    DispatcherScheduler,
    DispatcherSettings,
    IncomingMessage,
)
from dispatcher_core.errors import ConversationAlreadyClosed, InvalidInput, StoreUnavailable
from dispatcher_core.testing import ManualClock

from .conftest import HarnessFactory


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (datetime(2026, 3, 2, 6, 0, tzinfo=UTC), datetime(2026, 3, 2, 8, 0, tzinfo=UTC)),
        (datetime(2026, 3, 2, 8, 0, tzinfo=UTC), datetime(2026, 3, 3, 8, 0, tzinfo=UTC)),
        (datetime(2026, 3, 2, 22, 0, tzinfo=UTC), datetime(2026, 3, 3, 8, 0, tzinfo=UTC)),
        # Paris switches to summer time on 2026-03-29: 09:00 local is then 07:00 UTC
        (datetime(2026, 3, 28, 9, 0, tzinfo=UTC), datetime(2026, 3, 29, 7, 0, tzinfo=UTC)),
    ],
)
def test_next_scheduled_distribution_is_local_time(
    make_harness: HarnessFactory, after: datetime, expected: datetime
) -> None:
    h = make_harness(scheduled_distribution_time=time(9, 0), timezone="Europe/Paris")
    assert h.scheduler.next_scheduled_distribution(after) == expected


@pytest.mark.parametrize(
    "kwargs",
    [
        {"agent_capacity": -1},
        {"response_timeout": timedelta(0)},
        {"inactivity_timeout": timedelta(seconds=-1)},
        {"timeout_check_interval": timedelta(0)},
        {"disconnect_grace": timedelta(seconds=-1)},
        {"timezone": "Mars/Olympus"},
        {"max_conflict_retries": 0},
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        DispatcherSettings(**kwargs)  # type: ignore[arg-type]  # keyword pass-through


def test_entities_refuse_bad_values() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(InvalidInput):
        Conversation.open(id="c", business_number_id="", customer_id="x", now=now)
    with pytest.raises(InvalidInput):
        IncomingMessage(business_number_id="bn", customer_id="x", external_id="")
    closed = Conversation.open(id="c", business_number_id="bn", customer_id="x", now=now).close(now, "agent")
    with pytest.raises(ConversationAlreadyClosed):
        closed.assign_to("a", now)
    with pytest.raises(ConversationAlreadyClosed):
        closed.release(now)
    with pytest.raises(ConversationAlreadyClosed):
        closed.record_customer_message(now)
    with pytest.raises(ConversationAlreadyClosed):
        closed.close(now, "again")


def test_manual_clock_never_goes_back() -> None:
    clock = ManualClock()
    start = clock.now()
    assert clock.advance(timedelta(minutes=5)) == start + timedelta(minutes=5)
    with pytest.raises(InvalidInput):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(InvalidInput):
        clock.set(start)
    with pytest.raises(InvalidInput):
        ManualClock(datetime(2026, 1, 1))


class _Outage:
    """The in-memory store whose pending listing fails while ``down`` (a database outage in the middle of the
    scheduled distribution, after its slot was claimed)."""

    def __init__(self) -> None:
        self.store = MemoryStore()
        self.down = False

    def unit_of_work(self) -> Any:
        outage = self
        inner = self.store.unit_of_work()

        class Conversations:
            def __getattr__(self, name: str) -> Any:
                return getattr(inner.conversations, name)

            async def list_pending(self, limit: int | None = None) -> Any:
                if outage.down:
                    raise StoreUnavailable("the database went away")
                return await inner.conversations.list_pending(limit)

        class UnitOfWork:
            conversations = Conversations()

            def __getattr__(self, name: str) -> Any:
                return getattr(inner, name)

            async def __aenter__(self) -> Any:
                await inner.__aenter__()
                return self

            async def __aexit__(self, *exc: object) -> None:
                await inner.__aexit__(*exc)  # type: ignore[arg-type]  # passed through as received

        return UnitOfWork()


async def test_a_failed_scheduled_run_gives_its_slot_back() -> None:
    """I7 is one *successful* run per slot: a run that fails after claiming its slot does not use it up."""
    outage, clock = _Outage(), ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    settings = DispatcherSettings()
    orchestrator = DispatcherOrchestrator(
        uow_factory=outage.unit_of_work, publisher=MemoryEventBus(history=None), clock=clock, settings=settings
    )
    scheduler = DispatcherScheduler(
        orchestrator=orchestrator, uow_factory=outage.unit_of_work, clock=clock, settings=settings
    )
    outage.down = True
    with pytest.raises(StoreUnavailable):
        await scheduler.scheduled_distribution()
    outage.down = False
    assert await scheduler.scheduled_distribution() is not None  # the same day's slot, run again
    assert await scheduler.scheduled_distribution() is None  # and now used up
    async with outage.store.unit_of_work() as uow:
        assert not await uow.slots.claim("scheduled_distribution", "2026-03-02", clock.now())
