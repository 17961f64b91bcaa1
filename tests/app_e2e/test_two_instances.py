"""Two `dispatcher serve` processes on different ports sharing PostgreSQL and Redis.

An agent on one instance receives conversations whose webhooks reached the other; the admin stream of one
instance carries the events of both; each scheduled slot runs once; and when an instance is killed (SIGKILL:
no cleanup at all), its agents' presence expires and their conversations go to an agent on the survivor.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import ClientConnection, connect

from dispatcher_app import mint_agent_token
from dispatcher_app.testing import eventually, receive_json, signed_webhook_headers, text_message_body

from .conftest import clean_environment, free_port, running_servers

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

SECRETS = {
    "DISPATCHER_ADMIN_TOKEN": "two-instances-admin",
    "DISPATCHER_AGENT_TOKEN_SECRET": "two-instances-agent-secret-0123456789abcdef",
    "WHATSAPP_APP_SECRET": "two-instances-app-secret",
    "WHATSAPP_VERIFY_TOKEN": "two-instances-verify",
}
ADMIN = {"Authorization": "Bearer two-instances-admin"}


def environment(instance: str, database_url: str, redis_url: str, prefix: str) -> dict[str, str]:
    return clean_environment(
        **SECRETS,
        DISPATCHER_DATABASE_URL=database_url,
        DISPATCHER_REDIS_URL=redis_url,
        DISPATCHER_REDIS_PREFIX=prefix,
        DISPATCHER_INSTANCE_ID=instance,
        DISPATCHER_PRESENCE_TTL="1.5",
        DISPATCHER_TICK_INTERVAL="0.1",
        DISPATCHER_DISCONNECT_GRACE="0.5",
        DISPATCHER_TIMEOUT_CHECK_INTERVAL="1",
    )


async def post(http: httpx.AsyncClient, customer: str, message_id: str, text: str) -> None:
    body = text_message_body(business_number_id="B", customer_id=customer, message_id=message_id, text=text)
    response = await http.post(
        "/webhooks/whatsapp", content=body, headers=signed_webhook_headers(body, SECRETS["WHATSAPP_APP_SECRET"])
    )
    assert response.json()["accepted"] == 1, response.text


async def queue_of(http: httpx.AsyncClient) -> list[str]:
    agents = (await http.get("/admin/queue", headers=ADMIN)).json()["agents"]
    return [a["agent_id"] for a in agents if a["position"] is not None]


async def queue_becomes(http: httpx.AsyncClient, expected: list[str]) -> None:
    async def check() -> bool:
        return await queue_of(http) == expected

    await eventually(check, give_up_after=20)


def agent_url(port: int, agent_id: str) -> str:
    return (
        f"ws://127.0.0.1:{port}/ws/agent?token={mint_agent_token(SECRETS['DISPATCHER_AGENT_TOKEN_SECRET'], agent_id)}"
    )


async def next_of_type(ws: ClientConnection, expected: str) -> dict[str, Any]:
    frame = await receive_json(ws, give_up_after=30)
    assert frame["type"] == expected, frame
    return frame


def slot_runs(metrics_text: str, outcome: str) -> float:
    for family in text_string_to_metric_families(metrics_text):
        if family.name == "dispatcher_scheduled_jobs":
            return sum(
                sample.value
                for sample in family.samples
                if sample.name.endswith("_total")
                and sample.labels == {"job": "check_response_timeout", "outcome": outcome}
            )
    return 0.0


async def claimed_slots(database_url: str) -> int:
    connection = await asyncpg.connect(database_url)
    try:
        count: int = await connection.fetchval(
            "SELECT count(*) FROM dispatcher_slot_claims WHERE job = 'check_response_timeout'"
        )
        return count
    finally:
        await connection.close()


async def each_slot_ran_once(a: httpx.AsyncClient, b: httpx.AsyncClient, database_url: str) -> None:
    """Every claimed slot was run by exactly one instance: the runs of both add up to the claims (read until
    no slot starts between the reads), and both instances reached slots another had claimed."""
    last: tuple[float, int] = (0.0, 0)
    for _ in range(100):
        before = await claimed_slots(database_url)
        texts = [(await client.get("/metrics")).text for client in (a, b)]
        after = await claimed_slots(database_url)
        runs = sum(slot_runs(text, "ran") for text in texts)
        elsewhere = sum(slot_runs(text, "claimed_elsewhere") for text in texts)
        last = (runs, after)
        if before == after and runs == after and elsewhere > 0:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"runs and claimed slots disagree: {last}")


async def test_two_instances_share_the_work_and_survive_a_killed_one(
    tmp_path: Path, postgres_database: str, redis_url: str, redis_prefix: str
) -> None:
    port_a, port_b = free_port(), free_port()
    servers = [
        (port_a, environment("inst-a", postgres_database, redis_url, redis_prefix)),
        (port_b, environment("inst-b", postgres_database, redis_url, redis_prefix)),
    ]
    with running_servers(tmp_path, servers) as (process_a, _process_b):
        async with (
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port_a}") as a,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port_b}") as b,
            connect(f"ws://127.0.0.1:{port_b}/ws/admin?token=two-instances-admin") as admin_b,
        ):
            assert (await receive_json(admin_b))["instance_id"] == "inst-b"
            async with connect(agent_url(port_a, "alice")) as alice:
                assert (await receive_json(alice))["type"] == "hello"
                await queue_becomes(b, ["alice"])
                async with connect(agent_url(port_b, "bob")) as bob:
                    assert (await receive_json(bob))["type"] == "hello"
                    await queue_becomes(a, ["alice", "bob"])

                    # a webhook on B for alice (on A), a webhook on A for bob (on B)
                    await post(b, "c1", "w1", "first")
                    c1 = await next_of_type(alice, "conversation.assigned")
                    assert [m["text"] for m in c1["messages"]] == ["first"]
                    await post(a, "c2", "w2", "second")
                    assert (await next_of_type(bob, "conversation.assigned"))["customer"]["id"] == "c2"
                    await post(b, "c1", "w3", "sticky")
                    follow_up = await next_of_type(alice, "message.received")
                    assert (follow_up["message"]["text"], follow_up["seq"]) == ("sticky", c1["seq"] + 1)

                    # B's admin stream saw both assignments, made on both instances
                    assigned_seen: dict[str, str] = {}
                    while len(assigned_seen) < 2:
                        event = await receive_json(admin_b, give_up_after=30)
                        if event["type"] == "conversation.assigned":
                            assigned_seen[event["customer_id"]] = event["agent_id"]
                    assert assigned_seen == {"c1": "alice", "c2": "bob"}

                    await each_slot_ran_once(a, b, postgres_database)

                    # instance A dies without a word: alice's presence expires, c1 goes to bob
                    process_a.kill()
                    process_a.wait()
                    reassigned = await next_of_type(bob, "conversation.assigned")
                    assert reassigned["customer"]["id"] == "c1"
                    assert [m["text"] for m in reassigned["messages"]] == ["first", "sticky"]
                    assert await queue_of(b) == ["bob"]
                    conversations = (await b.get("/admin/conversations", headers=ADMIN)).json()["conversations"]
                    assert {c["customer_id"]: c["agent_id"] for c in conversations} == {"c1": "bob", "c2": "bob"}
