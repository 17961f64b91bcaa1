"""The flow of docs/architecture.md through the real app, over HTTP and WebSockets, on every backend.

pending -> an agent connects -> assigned; sticky follow-ups; round-robin; disconnect -> kept during the grace
period -> released and reassigned; the response timeout; the store's end state checked through the admin API.
Time is a manual clock; the background loop is ticked by hand.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection

from dispatcher_app import create_app
from dispatcher_app.testing import AppHarness, AppSlot, eventually, make_config, mounted, receive_json, serve
from dispatcher_app.testing import text_message_body as body_of
from dispatcher_core.testing import ManualClock

BUSINESS = "15550009999"


@pytest.fixture
async def harness(backend: dict[str, Any]) -> AsyncIterator[tuple[AppHarness, ManualClock]]:
    clock = ManualClock()
    config = make_config(tick_interval=timedelta(hours=1), **backend)
    slot = AppSlot()
    async with serve(slot) as server, mounted(slot, server, create_app(config, clock=clock), config) as h:
        yield h, clock


async def customer(h: AppHarness, clock: ManualClock, customer_id: str, message_id: str, text: str) -> None:
    clock.advance(timedelta(seconds=1))  # distinct arrival times: "oldest first" is well defined
    body = body_of(business_number_id=BUSINESS, customer_id=customer_id, message_id=message_id, text=text)
    response = await h.post_webhook(body)
    assert response.json()["accepted"] == 1, response.text


async def frame(ws: ClientConnection, expected_type: str) -> dict[str, Any]:
    received = await receive_json(ws)
    assert received["type"] == expected_type, received
    return received


async def conversation_of(h: AppHarness, customer_id: str) -> dict[str, Any]:
    listing = (await h.admin("GET", "/admin/conversations", params={"status": "open"})).json()
    (found,) = [c for c in listing["conversations"] if c["customer_id"] == customer_id]
    detail: dict[str, Any] = (await h.admin("GET", f"/admin/conversations/{found['id']}")).json()
    return detail


async def test_design_flow(harness: tuple[AppHarness, ManualClock]) -> None:
    h, clock = harness
    # 1. nobody online: the conversation is pending, its message kept
    await customer(h, clock, "c1", "w1", "hello?")
    pending = (await h.admin("GET", "/admin/pending")).json()
    assert [c["customer_id"] for c in pending["conversations"]] == ["c1"]
    assert pending["pending_messages"] == 1

    async with h.agent("alice") as (alice, hello):
        # 2. the first agent to connect gets it, with its history (in hello: the join distributed it)
        (c1,) = hello["conversations"]
        assert (c1["customer"]["id"], [m["text"] for m in c1["messages"]]) == ("c1", ["hello?"])
        assert (await h.admin("GET", "/admin/pending")).json()["pending_messages"] == 0

        # 3. sticky: the customer's next message goes to the same agent
        await customer(h, clock, "c1", "w2", "anyone?")
        received = await frame(alice, "message.received")
        assert (received["conversation_id"], received["message"]["text"]) == (c1["conversation_id"], "anyone?")

        # 4. round-robin: bob joins the end of the queue; alice is at the head, then bob
        async with h.agent("bob") as (bob, bob_hello):
            assert bob_hello["conversations"] == []
            assert await h.queued_agents() == ["alice", "bob"]
            await customer(h, clock, "c2", "w3", "hi")
            await customer(h, clock, "c3", "w4", "hey")
            assert (await frame(alice, "conversation.assigned"))["customer"]["id"] == "c2"
            assert (await frame(bob, "conversation.assigned"))["customer"]["id"] == "c3"
            assert await h.queued_agents() == ["alice", "bob"]

            # 5. alice leaves: out of the queue at once, her conversations kept for the grace period
            await alice.close()
            await eventually(lambda: _queued_is(h, ["bob"]))
            await customer(h, clock, "c1", "w5", "still there?")
            kept = await conversation_of(h, "c1")
            assert kept["agent_id"] == "alice"
            assert kept["messages"][-1]["delivered_to"] == "alice"

            # 6. grace over: her two conversations go to bob, whole history included
            clock.advance(h.config.dispatcher.disconnect_grace)
            await h.runtime.runner.tick()
            reassigned = {}
            for _ in range(2):
                assigned = await frame(bob, "conversation.assigned")
                reassigned[assigned["customer"]["id"]] = [m["text"] for m in assigned["messages"]]
            assert reassigned == {"c1": ["hello?", "anyone?", "still there?"], "c2": ["hi"]}
            assert {(await conversation_of(h, c))["agent_id"] for c in ("c1", "c2", "c3")} == {"bob"}

            # 7. deadlines, 24 h later
            await deadlines(h, clock, bob)

    # 8. everyone gone: nothing lost, nothing pending twice
    stats = (await h.admin("GET", "/admin/stats")).json()
    assert stats["messages"]["webhook"]["accepted"] == 5
    assert stats["conversations"]["open"] == 2


async def deadlines(h: AppHarness, clock: ManualClock, bob: ClientConnection) -> None:
    """bob holds c1, c2, c3 and answers c1 only; alice is back. After the response timeout (24 h, also the
    inactivity timeout) c1 closes for inactivity and c2, c3 move to alice."""
    ids = {c: (await conversation_of(h, c))["id"] for c in ("c1", "c2", "c3")}
    await bob.send(json.dumps({"type": "reply", "conversation_id": ids["c1"], "text": "yes!", "client_id": "1"}))
    assert (await frame(bob, "reply.accepted"))["client_id"] == "1"
    async with h.agent("alice") as (alice_again, hello_again):
        assert hello_again["conversations"] == []
        clock.advance(h.config.dispatcher.response_timeout)
        await h.runtime.runner.tick()
        moved = {(await frame(alice_again, "conversation.assigned"))["customer"]["id"] for _ in range(2)}
        assert moved == {"c2", "c3"}
        seen_by_bob = set()
        for _ in range(3):
            received = await receive_json(bob)
            seen_by_bob.add((received["type"], received["conversation_id"], received["reason"]))
        assert seen_by_bob == {
            ("conversation.closed", ids["c1"], "inactivity"),
            ("conversation.released", ids["c2"], "response_timeout"),
            ("conversation.released", ids["c3"], "response_timeout"),
        }
        closed = (await h.admin("GET", f"/admin/conversations/{ids['c1']}")).json()
        assert (closed["status"], closed["close_reason"]) == ("closed", "inactivity")


async def _queued_is(h: AppHarness, agents: list[str]) -> bool:
    return await h.queued_agents() == agents


async def test_reconnecting_within_the_grace_period_keeps_the_conversations(
    harness: tuple[AppHarness, ManualClock],
) -> None:
    h, clock = harness
    async with h.agent("alice") as (alice, _):
        await customer(h, clock, "c1", "w1", "hello")
        conversation_id = (await frame(alice, "conversation.assigned"))["conversation_id"]
    await eventually(lambda: _queued_is(h, []))
    clock.advance(h.config.dispatcher.disconnect_grace / 2)
    await customer(h, clock, "c1", "w2", "while you reloaded")
    async with h.agent("alice") as (alice, hello):
        (kept,) = hello["conversations"]
        assert kept["conversation_id"] == conversation_id
        assert [m["text"] for m in kept["messages"]] == ["hello", "while you reloaded"]
        clock.advance(h.config.dispatcher.disconnect_grace)
        await h.runtime.runner.tick()
        assert (await conversation_of(h, "c1"))["agent_id"] == "alice"


async def test_readiness_reports_every_dependency(harness: tuple[AppHarness, ManualClock]) -> None:
    h, _ = harness
    ready = (await h.http.get("/readyz")).json()
    expected = {"store": "ok", "events": "ok"} if h.config.events_url else {"store": "ok"}
    assert (ready["status"], ready["checks"]) == ("ready", expected)
    assert isinstance(h.http, httpx.AsyncClient)
