"""The background loop, driven by a manual clock: presence of dead instances, timeouts, the daily distribution,
and one run per slot across instances."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import time, timedelta
from typing import Any

import pytest

from dispatcher_adapters.memory import MemoryStore
from dispatcher_app import create_app, runtime_of
from dispatcher_app.presence import INSTANCE_PREFIX, InstancePresence
from dispatcher_app.runtime import Runtime
from dispatcher_app.testing import AppHarness, make_config, receive_json, text_message_body
from dispatcher_core import AgentPresence, DispatcherSettings, PresenceStatus
from dispatcher_core.errors import StoreUnavailable
from dispatcher_core.testing import ManualClock

from .conftest import MakeHarness

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def say(h: AppHarness, customer: str, message_id: str) -> None:
    body = text_message_body(business_number_id="B", customer_id=customer, message_id=message_id, text="hello")
    assert (await h.post_webhook(body)).json()["accepted"] == 1


async def presence_of(h: AppHarness, agent_id: str) -> AgentPresence | None:
    async with h.runtime.uow_factory() as uow:
        return await uow.presence.get(agent_id)


async def agent_of_conversation(h: AppHarness, customer: str) -> str | None:
    listing = (await h.admin("GET", "/admin/conversations", params={"status": "open"})).json()
    (conversation,) = [c for c in listing["conversations"] if c["customer_id"] == customer]
    agent: str | None = conversation["agent_id"]
    return agent


async def test_the_agents_of_a_dead_instance_go_offline(harness: AppHarness, clock: ManualClock) -> None:
    runtime = harness.runtime
    ghost = InstancePresence(
        instance_id="ghost",
        uow_factory=runtime.uow_factory,
        orchestrator=runtime.orchestrator,
        router=runtime.router,
        clock=clock,
        ttl=runtime.config.presence_ttl,
    )
    await ghost.heartbeat()
    await runtime.orchestrator.handle_agent_connected("bob", "ghost:socket-1")  # bob's socket is on "ghost"
    await say(harness, "c1", "w1")
    assert await agent_of_conversation(harness, "c1") == "bob"

    await runtime.runner.tick()  # ghost's heartbeat is fresh: nothing happens
    assert await harness.queued_agents() == ["bob"]

    clock.advance(runtime.config.presence_ttl + timedelta(seconds=1))  # ghost stopped beating (it died)
    await runtime.runner.tick()
    bob = await presence_of(harness, "bob")
    assert bob is not None
    assert (bob.status, bob.connections) == (PresenceStatus.GRACE, frozenset())
    assert await harness.queued_agents() == []
    ghost_record = await presence_of(harness, INSTANCE_PREFIX + "ghost")
    assert ghost_record is not None
    assert ghost_record.status is PresenceStatus.OFFLINE
    assert await agent_of_conversation(harness, "c1") == "bob"  # kept for the grace period (rule 4)

    clock.advance(runtime.config.dispatcher.disconnect_grace)
    await runtime.runner.tick()
    assert await agent_of_conversation(harness, "c1") is None  # pending again
    async with harness.agent("alice") as (_, hello):
        assert [c["customer"]["id"] for c in hello["conversations"]] == ["c1"]


async def test_reconciliation_removes_zombie_sockets_and_restores_live_ones(harness: AppHarness) -> None:
    runtime = harness.runtime
    await runtime.orchestrator.handle_agent_connected("zed", f"{runtime.instance_id}:no-such-socket")
    async with harness.agent("alice") as (_, hello):
        connection_id = hello["connection_id"]
        # the store lost alice's socket (e.g. another instance took this one for dead during a long pause)
        await runtime.orchestrator.handle_agent_disconnected("alice", connection_id)
        assert await harness.queued_agents() == ["zed"]
        report = await runtime.presence.reconcile()
        assert (report.disconnected, report.reconnected) == (1, 1)
        assert await harness.queued_agents() == ["alice"]
        alice = await presence_of(harness, "alice")
        assert alice is not None
        assert alice.connections == frozenset({connection_id})


async def test_response_timeout_reassigns_and_inactivity_closes(make_harness: MakeHarness, clock: ManualClock) -> None:
    settings = DispatcherSettings(
        response_timeout=timedelta(hours=1),
        inactivity_timeout=timedelta(hours=2),
        timeout_check_interval=timedelta(minutes=5),
    )
    async with make_harness(dispatcher=settings) as h, h.agent("alice") as (alice, _), h.agent("bob") as (bob, _):
        await say(h, "c1", "w1")
        assigned = await receive_json(alice)
        conversation_id = assigned["conversation_id"]
        await h.runtime.runner.tick()
        assert await agent_of_conversation(h, "c1") == "alice"

        clock.advance(timedelta(hours=1, minutes=5))
        await h.runtime.runner.tick()
        released = await receive_json(alice)
        assert (released["type"], released["conversation_id"], released["reason"]) == (
            "conversation.released",
            conversation_id,
            "response_timeout",
        )
        reassigned = await receive_json(bob)
        assert (reassigned["type"], reassigned["reason"], reassigned["previous_agent_id"]) == (
            "conversation.assigned",
            "response_timeout",
            "alice",
        )

        await bob.send(json.dumps({"type": "reply", "conversation_id": conversation_id, "text": "sorry for the wait"}))
        assert (await receive_json(bob))["type"] == "reply.accepted"
        clock.advance(timedelta(hours=2, minutes=5))
        await h.runtime.runner.tick()
        closed = await receive_json(bob)
        assert (closed["type"], closed["conversation_id"], closed["reason"]) == (
            "conversation.closed",
            conversation_id,
            "inactivity",
        )


@asynccontextmanager
async def second_instance(store: MemoryStore, clock: ManualClock, **changes: object) -> AsyncIterator[None]:
    """Another app on the same store, running (lifespan) but not served."""
    app = create_app(
        make_config(tick_interval=timedelta(hours=1), **changes), clock=clock, uow_factory=store.unit_of_work
    )
    async with app.router.lifespan_context(app):
        yield


def runs(runtime: Runtime, job: str, outcome: str) -> float:
    value = runtime.metrics.registry.get_sample_value(
        "dispatcher_scheduled_jobs_total", {"job": job, "outcome": outcome}
    )
    return value or 0.0


async def test_the_daily_distribution_runs_once_at_its_local_time(
    make_harness: MakeHarness, clock: ManualClock
) -> None:
    """09:30 in Paris is 08:30 UTC in January; the manual clock starts at 08:00 UTC."""
    store = MemoryStore()
    settings = DispatcherSettings(scheduled_distribution_time=time(9, 30), timezone="Europe/Paris")
    async with make_harness(dispatcher=settings, app_kwargs={"uow_factory": store.unit_of_work}) as h:
        await say(h, "c1", "w1")
        # an agent in the queue whose instance never distributed (it died right after the join): only the
        # scheduled distribution will hand the pending conversation over
        async with h.runtime.uow_factory() as uow:
            await uow.queue.add("carol")
            await uow.presence.save(AgentPresence.offline("carol", clock.now()).connect("elsewhere", clock.now()))
            await uow.commit()
        runtime = runtime_of(h.app)
        assert runtime.runner.next_scheduled_distribution.isoformat() == "2026-01-05T08:30:00+00:00"
        clock.advance(timedelta(minutes=29))
        await runtime.runner.tick()
        assert await agent_of_conversation(h, "c1") is None
        assert runs(runtime, "scheduled_distribution", "ran") == 0

        async with second_instance(store, clock, dispatcher=settings):
            clock.advance(timedelta(minutes=1))
            await runtime.runner.tick()
            assert await agent_of_conversation(h, "c1") == "carol"
            assert runs(runtime, "scheduled_distribution", "ran") == 1
            await runtime.runner.tick()  # same day: not due again
            assert runs(runtime, "scheduled_distribution", "ran") == 1
        assert runtime.runner.next_scheduled_distribution.isoformat() == "2026-01-06T08:30:00+00:00"


async def test_each_slot_runs_once_across_instances(make_harness: MakeHarness, clock: ManualClock) -> None:
    store = MemoryStore()
    settings = DispatcherSettings(timeout_check_interval=timedelta(minutes=30), scheduled_distribution_time=time(8, 10))
    async with make_harness(dispatcher=settings, app_kwargs={"uow_factory": store.unit_of_work}) as first:
        other_app = create_app(
            make_config(tick_interval=timedelta(hours=1), dispatcher=settings),
            clock=clock,
            uow_factory=store.unit_of_work,
        )
        async with other_app.router.lifespan_context(other_app):
            other = runtime_of(other_app)
            clock.advance(timedelta(minutes=10))
            for _ in range(3):
                await first.runtime.runner.tick()
                await other.runner.tick()
            for job in ("check_response_timeout", "scheduled_distribution"):
                ran = runs(first.runtime, job, "ran") + runs(other, job, "ran")
                elsewhere = runs(first.runtime, job, "claimed_elsewhere") + runs(other, job, "claimed_elsewhere")
                assert (ran, elsewhere) == (1, 1), job
            clock.advance(timedelta(minutes=30))  # the next timeout-check slot
            await other.runner.tick()
            await first.runtime.runner.tick()
            job = "check_response_timeout"
            assert runs(first.runtime, job, "ran") + runs(other, job, "ran") == 2


class FlakyPendingListing:
    """The in-memory store, whose pending listing fails while ``down``: the database going away in the middle
    of the daily distribution, after its slot was claimed."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.down = False

    def unit_of_work(self) -> Any:
        flaky, inner = self, self.store.unit_of_work()

        class Conversations:
            def __getattr__(self, name: str) -> Any:
                return getattr(inner.conversations, name)

            async def list_pending(self, limit: int | None = None) -> Any:
                if flaky.down:
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


async def test_a_failed_daily_distribution_runs_again_the_same_day(
    make_harness: MakeHarness, clock: ManualClock
) -> None:
    store = FlakyPendingListing(MemoryStore())
    settings = DispatcherSettings(scheduled_distribution_time=time(8, 30))
    async with make_harness(dispatcher=settings, app_kwargs={"uow_factory": store.unit_of_work}) as h:
        await say(h, "c1", "w1")
        async with h.runtime.uow_factory() as uow:  # an agent whose instance never drained (see above)
            await uow.queue.add("carol")
            await uow.presence.save(AgentPresence.offline("carol", clock.now()).connect("elsewhere", clock.now()))
            await uow.commit()
        runner = h.runtime.runner
        clock.advance(timedelta(minutes=30))
        store.down = True
        await runner.tick()
        store.down = False
        assert (
            h.runtime.metrics.registry.get_sample_value(
                "dispatcher_background_errors_total", {"task": "scheduled_distribution"}
            )
            == 1
        )
        assert await agent_of_conversation(h, "c1") is None
        assert runner.next_scheduled_distribution == clock.now() + timedelta(seconds=30)  # not tomorrow
        clock.advance(timedelta(seconds=30))
        await runner.tick()
        assert await agent_of_conversation(h, "c1") == "carol"  # the slot was given back: run again, today
        assert runs(h.runtime, "scheduled_distribution", "ran") == 1
        assert runner.next_scheduled_distribution.isoformat() == "2026-01-06T08:30:00+00:00"
