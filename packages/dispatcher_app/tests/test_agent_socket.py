"""/ws/agent: authentication, hello, seq, isolation between agents, and the reply/close/ping frames."""

from __future__ import annotations

import json
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from dispatcher_app import mint_agent_token
from dispatcher_app.testing import AppHarness, receive_json, status_body, text_message_body

pytestmark = pytest.mark.asyncio(loop_scope="module")

BUSINESS = "15550001111"


async def customer_says(h: AppHarness, customer: str, message_id: str, text: str) -> None:
    body = text_message_body(
        business_number_id=BUSINESS, customer_id=customer, message_id=message_id, text=text, name=customer.title()
    )
    assert (await h.post_webhook(body)).json()["accepted"] == 1


async def nothing_else(ws: ClientConnection) -> int:
    """Proves no frame is queued for this socket: a ping's pong comes next (one writer, in order). Returns
    the pong's seq."""
    await ws.send(json.dumps({"type": "ping"}))
    frame = await receive_json(ws)
    assert frame["type"] == "pong", frame
    seq: int = frame["seq"]
    return seq


async def request(ws: ClientConnection, frame: dict[str, Any]) -> dict[str, Any]:
    await ws.send(json.dumps(frame))
    return await receive_json(ws)


async def history(h: AppHarness, conversation_id: str) -> list[dict[str, Any]]:
    detail = (await h.admin("GET", f"/admin/conversations/{conversation_id}")).json()
    messages: list[dict[str, Any]] = detail["messages"]
    return messages


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        mint_agent_token("another-secret-of-at-least-32-bytes!!", "alice"),
        "",
    ],
)
async def test_bad_token_is_closed_with_4401_before_any_event(harness: AppHarness, token: str) -> None:
    await customer_says(harness, "c1", "w1", "pending for anyone")
    async with connect(harness.agent_url(token)) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await receive_json(ws)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401
    assert await harness.queued_agents() == []
    assert len((await harness.admin("GET", "/admin/pending")).json()["conversations"]) == 1


async def test_agents_see_only_their_own_conversations(harness: AppHarness) -> None:
    async with harness.agent("alice") as (alice, alice_hello), harness.agent("bob") as (bob, bob_hello):
        assert alice_hello["conversations"] == bob_hello["conversations"] == []
        assert (alice_hello["seq"], bob_hello["seq"]) == (0, 0)
        await customer_says(harness, "c1", "w1", "for the head of the queue")
        await customer_says(harness, "c2", "w2", "for the next one")
        to_alice = await receive_json(alice)
        to_bob = await receive_json(bob)
        assert (to_alice["type"], to_alice["seq"], to_alice["customer"]["id"]) == ("conversation.assigned", 1, "c1")
        assert (to_bob["type"], to_bob["seq"], to_bob["customer"]["id"]) == ("conversation.assigned", 1, "c2")
        assert [m["text"] for m in to_alice["messages"]] == ["for the head of the queue"]

        await customer_says(harness, "c1", "w3", "follow-up")
        follow_up = await receive_json(alice)
        assert follow_up["type"] == "message.received"
        assert (follow_up["seq"], follow_up["conversation_id"]) == (2, to_alice["conversation_id"])
        assert follow_up["message"]["text"] == "follow-up"
        assert await nothing_else(bob) == 1
        assert await nothing_else(alice) == 2


async def test_hello_holds_open_conversations_and_every_socket_gets_the_events(harness: AppHarness) -> None:
    async with harness.agent("alice") as (first, _):
        await customer_says(harness, "c1", "w1", "hello")
        assigned = await receive_json(first)
        async with harness.agent("alice") as (second, hello):
            (conversation,) = hello["conversations"]
            assert conversation["conversation_id"] == assigned["conversation_id"]
            assert conversation["customer"] == {"id": "c1", "name": "C1", "business_number_id": BUSINESS}
            assert [m["text"] for m in conversation["messages"]] == ["hello"]
            assert hello["seq"] == assigned["seq"] == 1
            await customer_says(harness, "c1", "w2", "again")
            assert (await receive_json(first))["seq"] == (await receive_json(second))["seq"] == 2
        assert await harness.queued_agents() == ["alice"]  # one socket left: still one presence


async def test_reply_is_recorded_and_accepted(harness: AppHarness) -> None:
    async with harness.agent("alice") as (alice, _):
        await customer_says(harness, "c1", "w1", "question")
        conversation_id = (await receive_json(alice))["conversation_id"]
        accepted = await request(
            alice, {"type": "reply", "conversation_id": conversation_id, "text": "answer", "client_id": "r-1"}
        )
        assert "message_id" in accepted, accepted
        message_id = accepted.pop("message_id")
        assert accepted == {
            "type": "reply.accepted",
            "client_id": "r-1",
            "conversation_id": conversation_id,
            "status": "recorded",
            "wamid": None,
            "duplicate": False,
            "seq": 1,
        }
        # the reply is a message of the conversation, after the customer's, with its send record
        question, answer = await history(harness, conversation_id)
        assert (question["direction"], question["text"], "outbound" in question) == ("in", "question", False)
        assert (answer["id"], answer["direction"], answer["text"], answer["delivered_to"]) == (
            message_id,
            "out",
            "answer",
            "alice",
        )
        assert (answer["outbound"]["status"], answer["outbound"]["agent_id"], answer["outbound"]["client_id"]) == (
            "recorded",
            "alice",
            "r-1",
        )
        detail = (await harness.admin("GET", f"/admin/conversations/{conversation_id}")).json()
        assert detail["oldest_unanswered_at"] is None
        again = await request(
            alice, {"type": "reply", "conversation_id": conversation_id, "text": "answer", "client_id": "r-1"}
        )
        assert (again["message_id"], again["duplicate"]) == (message_id, True)
        assert len(await history(harness, conversation_id)) == 2

        # a delivery status naming that reply comes back to the agent who owns the conversation
        status = status_body(business_number_id=BUSINESS, message_id=message_id, status="delivered", recipient_id="c1")
        assert (await harness.post_webhook(status)).json()["statuses"] == 1
        frame = await receive_json(alice)
        assert (frame["type"], frame["status"], frame["message_id"], frame["client_id"]) == (
            "message.status",
            "delivered",
            message_id,
            "r-1",
        )
        assert frame["conversation_id"] == conversation_id

        # and a new socket's hello shows the reply in the conversation, in order, with its status
        async with harness.agent("alice") as (_, hello):
            (conversation,) = hello["conversations"]
            assert [(m["direction"], m["text"]) for m in conversation["messages"]] == [
                ("in", "question"),
                ("out", "answer"),
            ]
            assert conversation["messages"][1]["outbound"]["status"] == "recorded"


async def test_bad_frames_get_an_error_and_change_nothing(harness: AppHarness) -> None:
    async with harness.agent("alice") as (alice, _), harness.agent("bob") as (bob, _):
        await customer_says(harness, "c1", "w1", "to alice")
        await customer_says(harness, "c2", "w2", "to bob")
        mine = (await receive_json(alice))["conversation_id"]
        theirs = (await receive_json(bob))["conversation_id"]
        cases = [
            ({"type": "reply", "conversation_id": theirs, "text": "hi", "client_id": "x"}, "not_owner"),
            ({"type": "reply", "conversation_id": "nope", "text": "hi"}, "not_found"),
            ({"type": "reply", "conversation_id": mine, "text": "   "}, "invalid"),
            ({"type": "reply", "conversation_id": mine, "text": "x" * 4097}, "invalid"),
            ({"type": "reply", "text": "no conversation"}, "invalid"),
            ({"type": "close", "conversation_id": theirs}, "not_owner"),
            ({"type": "dance"}, "bad_frame"),
            ({"no": "type"}, "bad_frame"),
        ]
        for frame, code in cases:
            error = await request(alice, frame)
            assert (error["type"], error["code"]) == ("error", code), (frame, error)
            assert error["client_id"] == frame.get("client_id")
        await alice.send("not json")
        assert (await receive_json(alice))["code"] == "bad_frame"
        await alice.send("[1, 2]")
        assert (await receive_json(alice))["code"] == "bad_frame"
        for conversation_id in (mine, theirs):
            assert [m["direction"] for m in await history(harness, conversation_id)] == ["in"]
            detail = (await harness.admin("GET", f"/admin/conversations/{conversation_id}")).json()
            assert (detail["status"], detail["oldest_unanswered_at"] is not None) == ("open", True)
        assert await nothing_else(bob) == 1


async def test_close_ends_the_conversation_and_the_next_message_opens_a_new_one(harness: AppHarness) -> None:
    async with harness.agent("alice") as (alice, _):
        await customer_says(harness, "c1", "w1", "thanks, bye")
        first = (await receive_json(alice))["conversation_id"]
        await alice.send(json.dumps({"type": "close", "conversation_id": first}))
        closed = await receive_json(alice)
        assert (closed["type"], closed["conversation_id"], closed["reason"], closed["seq"]) == (
            "conversation.closed",
            first,
            "agent",
            2,
        )
        again = await request(alice, {"type": "close", "conversation_id": first})
        assert again["code"] == "closed"
        refused = await request(alice, {"type": "reply", "conversation_id": first, "text": "late"})
        assert refused["code"] == "closed"
        await customer_says(harness, "c1", "w2", "one more thing")
        second = await receive_json(alice)
        assert second["type"] == "conversation.assigned"
        assert second["conversation_id"] != first
        assert [m["text"] for m in second["messages"]] == ["one more thing"]
        detail = (await harness.admin("GET", f"/admin/conversations/{first}")).json()
        assert (detail["status"], detail["close_reason"]) == ("closed", "agent")
