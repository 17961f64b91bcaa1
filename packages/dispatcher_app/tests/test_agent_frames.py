"""Hostile frames on /ws/agent (and /ws/admin): every one gets an ``error`` frame and the socket keeps working."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import connect

from dispatcher_app.testing import TEST_ADMIN_TOKEN, AppHarness, receive_json, text_message_body
from dispatcher_app.ws.frames import MAX_FRAME_CHARS

pytestmark = pytest.mark.asyncio(loop_scope="module")

HOSTILE = {
    "lone-surrogate-type": '{"type":"\\ud800"}',
    "lone-surrogate-conversation": '{"type":"close","conversation_id":"\\udfff"}',
    "nul-in-reply": '{"type":"reply","conversation_id":"c","text":"a\\u0000b"}',
    "surrogate-key": '{"type":"ping","\\ud800":1}',
    "deeply-nested-array": "[" * 100_000 + "]" * 100_000,
    "deeply-nested-value": '{"type":"ping","x":' + "[" * 50 + "]" * 50 + "}",
    "deeply-nested-object": '{"a":' * 5_000 + "1" + "}" * 5_000,
    "oversize": '{"type":"ping","pad":"' + "x" * MAX_FRAME_CHARS + '"}',
    "type-not-a-string": '{"type":5}',
    "reply-of-wrong-types": '{"type":"reply","conversation_id":3,"text":[]}',
    "close-without-id": '{"type":"close","conversation_id":null}',
    "array": "[]",
    "string": '"ping"',
    "null": "null",
    "not-json": "{nope",
    "empty": "",
}


async def still_working(h: AppHarness, ws: Any, customer: str) -> None:
    """A ping is answered, and a new conversation still reaches the agent."""
    await ws.send(json.dumps({"type": "ping"}))
    assert (await receive_json(ws))["type"] == "pong"
    body = text_message_body(business_number_id="B", customer_id=customer, message_id=f"w-{customer}", text="hi")
    assert (await h.post_webhook(body)).json()["accepted"] == 1
    assigned = await receive_json(ws)
    assert (assigned["type"], assigned["customer"]["id"]) == ("conversation.assigned", customer)


@pytest.mark.parametrize("raw", list(HOSTILE.values()), ids=list(HOSTILE))
async def test_every_hostile_frame_is_answered_and_the_socket_keeps_working(harness: AppHarness, raw: str) -> None:
    async with harness.agent("alice") as (ws, _):
        await ws.send(raw)
        error = await receive_json(ws)
        assert error["type"] == "error", error
        assert error["code"] in {"bad_frame", "invalid", "not_found"}, error
        await still_working(harness, ws, "c1")


async def test_a_binary_frame_of_invalid_utf8_is_answered(harness: AppHarness) -> None:
    async with harness.agent("alice") as (ws, _):
        await ws.send(b"\xff\xfe{")
        assert (await receive_json(ws))["code"] == "bad_frame"
        await still_working(harness, ws, "c1")


async def test_a_reply_with_text_that_cannot_be_stored_changes_nothing(harness: AppHarness) -> None:
    async with harness.agent("alice") as (ws, _):
        await still_working(harness, ws, "c1")
        conversation_id = (await harness.admin("GET", "/admin/conversations")).json()["conversations"][0]["id"]
        for text in ("\ud800", "a\x00b"):
            await ws.send(json.dumps({"type": "reply", "conversation_id": conversation_id, "text": text}))
            error = await receive_json(ws)
            assert (error["type"], error["code"]) == ("error", "invalid")
        detail = (await harness.admin("GET", f"/admin/conversations/{conversation_id}")).json()
        assert [m["direction"] for m in detail["messages"]] == ["in"]


json_values: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
    | st.sampled_from(["ping", "reply", "close", "\ud800", "\x00", "\udc80x"]),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["type", "conversation_id", "text", "client_id", "\ud800"]), children, max_size=4
        )
    ),
    max_leaves=20,
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(frame=json_values)
async def test_fuzzed_frames_are_each_answered(harness: AppHarness, frame: Any) -> None:
    """Any JSON value as a frame (no conversation is this agent's, so nothing can change): exactly one answer,
    an ``error`` or a ``pong``, and the socket still answers a ping after it."""
    async with harness.agent("fuzz") as (ws, _):
        await ws.send(json.dumps(frame))
        answer = await receive_json(ws)
        assert answer["type"] in {"error", "pong"}, answer
        await ws.send(json.dumps({"type": "ping"}))
        assert (await receive_json(ws))["type"] == "pong"
    assert (await harness.admin("GET", "/admin/conversations")).json()["conversations"] == []


@pytest.mark.parametrize("raw", [HOSTILE[name] for name in ("lone-surrogate-type", "deeply-nested-object", "oversize")])
async def test_the_admin_socket_answers_hostile_frames_too(harness: AppHarness, raw: str) -> None:
    async with connect(f"{harness.server.ws_url}/ws/admin?token={TEST_ADMIN_TOKEN}") as admin:
        assert (await receive_json(admin))["type"] == "hello"
        await admin.send(raw)
        assert (await receive_json(admin))["code"] == "bad_frame"
        await admin.send(json.dumps({"type": "ping"}))
        assert (await receive_json(admin))["type"] == "pong"
