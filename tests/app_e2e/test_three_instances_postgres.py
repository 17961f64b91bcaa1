"""Three `dispatcher serve` processes on one PostgreSQL database and nothing else: no Redis anywhere.

Events cross instances through the database (``LISTEN/NOTIFY``, rows numbered per agent in the committing
transaction). Agents sit on different processes - one of them with a socket on two - and customers' webhooks
land on the three instances in turn (a round-robin load balancer). Checked from what the sockets received:

1. every accepted message reaches its owner's sockets exactly once (every socket of the owner), and no other
   agent's; ``seq`` on every socket goes up by one, no gap; new conversations are shared fairly (within 1);
   nothing is left pending;
2. ``pg_terminate_backend`` of one instance's listener connection: its agent's socket gets a fresh ``hello``,
   and messages after it still arrive exactly once;
3. SIGKILL of one instance: its agent's presence expires, and every conversation that agent held reaches
   another agent's socket on a surviving instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from dispatcher_app import mint_agent_token
from dispatcher_app.testing import signed_webhook_headers, text_message_body

from .conftest import clean_environment, free_port, running_servers

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SECRETS = {
    "DISPATCHER_ADMIN_TOKEN": "pg-only-admin",
    "DISPATCHER_AGENT_TOKEN_SECRET": "pg-only-agent-secret-0123456789abcdef0123",
    "WHATSAPP_APP_SECRET": "pg-only-app-secret",
    "WHATSAPP_VERIFY_TOKEN": "pg-only-verify",
}
ADMIN = {"Authorization": "Bearer pg-only-admin"}
CUSTOMERS = 60
MESSAGES_PER_CUSTOMER = 3
CONCURRENT_WEBHOOKS = 6


def environment(instance: str, database_url: str) -> dict[str, str]:
    return clean_environment(
        **SECRETS,
        DISPATCHER_DATABASE_URL=database_url,
        DISPATCHER_INSTANCE_ID=instance,
        DISPATCHER_PRESENCE_TTL="1.5",
        DISPATCHER_TICK_INTERVAL="0.1",
        DISPATCHER_DISCONNECT_GRACE="0.5",
    )


class Socket:
    """An agent socket on one instance, every frame it received kept in order."""

    def __init__(self, agent_id: str, instance: str, ws: ClientConnection) -> None:
        self.agent_id = agent_id
        self.instance = instance
        self.ws = ws
        self.frames: list[dict[str, Any]] = []
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for raw in self.ws:
                self.frames.append(json.loads(raw))

    def of_type(self, kind: str, since: int = 0) -> list[dict[str, Any]]:
        return [frame for frame in self.frames[since:] if frame["type"] == kind]

    def delivered(self, since: int = 0) -> Counter[str]:
        """WhatsApp ids of the customer messages this socket received in events (not in ``hello``)."""
        seen: Counter[str] = Counter()
        for frame in self.frames[since:]:
            if frame["type"] == "conversation.assigned":
                seen.update(m["external_id"] for m in frame["messages"])
            elif frame["type"] == "message.received":
                seen[frame["message"]["external_id"]] += 1
        return seen

    def event_seqs(self, since: int = 0) -> list[int]:
        return [f["seq"] for f in self.frames[since:] if f["type"].startswith(("conversation.", "message.received"))]


@contextlib.asynccontextmanager
async def agent_socket(port: int, instance: str, agent_id: str) -> AsyncIterator[Socket]:
    token = mint_agent_token(SECRETS["DISPATCHER_AGENT_TOKEN_SECRET"], agent_id)
    async with connect(f"ws://127.0.0.1:{port}/ws/agent?token={token}") as ws:
        socket = Socket(agent_id, instance, ws)
        try:
            yield socket
        finally:
            socket.task.cancel()


async def until(check: Any, what: str, give_up_after: float = 90.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + give_up_after
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"still not true after {give_up_after}s: {what}")
        await asyncio.sleep(0.05)


async def post(http: httpx.AsyncClient, customer: str, message_id: str) -> None:
    body = text_message_body(business_number_id="B", customer_id=customer, message_id=message_id, text=message_id)
    headers = signed_webhook_headers(body, SECRETS["WHATSAPP_APP_SECRET"])
    for _ in range(50):  # a 503 (store busy) is retried, as Meta would
        response = await http.post("/webhooks/whatsapp", content=body, headers=headers)
        if response.status_code == 200:
            assert response.json()["accepted"] + response.json().get("duplicates", 0) >= 1, response.text
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"webhook never accepted: {response.status_code} {response.text}")


async def post_all(clients: list[httpx.AsyncClient], messages: Iterable[tuple[str, str]], start: int = 0) -> None:
    """Each webhook to the next instance in turn, a few at a time."""
    pending = list(messages)
    turn = itertools.count(start)
    for index in range(0, len(pending), CONCURRENT_WEBHOOKS):
        batch = pending[index : index + CONCURRENT_WEBHOOKS]
        await asyncio.gather(*(post(clients[next(turn) % len(clients)], c, m) for c, m in batch))


async def owners(http: httpx.AsyncClient) -> dict[str, str | None]:
    """conversation id -> agent, for every open conversation."""
    listing = (await http.get("/admin/conversations", params={"status": "open"}, headers=ADMIN)).json()
    return {c["id"]: c["agent_id"] for c in listing["conversations"]}


async def messages_by_owner(http: httpx.AsyncClient) -> dict[str, str]:
    """WhatsApp id -> the agent it was delivered to, for every stored message."""
    result: dict[str, str] = {}
    for conversation_id in await owners(http):
        detail = (await http.get(f"/admin/conversations/{conversation_id}", headers=ADMIN)).json()
        for message in detail["messages"]:
            result[message["external_id"]] = message["delivered_to"]
    return result


async def listener_pid(database_url: str, instance: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        pid: int | None = await conn.fetchval(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1", f"dispatcher-events {instance}"
        )
    finally:
        await conn.close()
    assert pid is not None, f"no listener connection for {instance}"
    return pid


async def terminate(database_url: str, pid: int) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await conn.close()


async def every_message_reaches_its_owner_once(clients: list[httpx.AsyncClient], sockets: list[Socket]) -> None:
    """Phase 1: many customers, webhooks spread over the three instances."""
    first = [(f"cust-{i}", f"w-{i}-0") for i in range(CUSTOMERS)]
    follow = [(f"cust-{i}", f"w-{i}-{k}") for k in range(1, MESSAGES_PER_CUSTOMER) for i in range(CUSTOMERS)]
    await post_all(clients, first)
    await post_all(clients, follow, start=1)
    accepted = [m for _, m in first + follow]

    by_owner = await messages_by_owner(clients[1])
    assert sorted(by_owner) == sorted(accepted)  # every message stored once, and delivered (nothing pending)
    assert (await clients[2].get("/admin/pending", headers=ADMIN)).json()["pending_messages"] == 0

    async def all_delivered() -> bool:
        return all(s.delivered()[m] >= 1 for m, owner in by_owner.items() for s in sockets if s.agent_id == owner)

    await until(all_delivered, "every message on its owner's sockets")
    await asyncio.sleep(0.5)  # let anything extra (a duplicate) arrive before counting
    lost = duplicated = misdelivered = 0
    for message_id, owner in by_owner.items():
        for socket in sockets:
            count = socket.delivered()[message_id]
            if socket.agent_id == owner:
                lost += count == 0
                duplicated += count > 1
            else:
                misdelivered += count
    print(f"{len(accepted)} messages: lost {lost}, duplicated {duplicated}, to another agent {misdelivered}")
    assert (lost, duplicated, misdelivered) == (0, 0, 0)
    for socket in sockets:  # seq: one more each time, from the hello on, on every socket
        seqs = socket.event_seqs()
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), (socket.agent_id, socket.instance)
        assert socket.of_type("hello")[0]["seq"] == seqs[0] - 1
    dora = [s for s in sockets if s.agent_id == "dora"]
    assert dora[0].event_seqs() == dora[1].event_seqs()
    new_conversations = Counter(
        s.agent_id for s in sockets if s is not dora[1] for _ in s.of_type("conversation.assigned")
    )
    print(f"new conversations per agent: {dict(new_conversations)}")
    assert sum(new_conversations.values()) == CUSTOMERS
    assert max(new_conversations.values()) - min(new_conversations.values()) <= 1, new_conversations


async def a_lost_listener_resyncs(
    clients: list[httpx.AsyncClient], database_url: str, instance: str, socket: Socket
) -> None:
    """Phase 2: the instance loses its listener connection; its agent gets a fresh hello, then events again."""
    hellos = len(socket.of_type("hello"))
    await terminate(database_url, await listener_pid(database_url, instance))

    async def resynced() -> bool:
        return len(socket.of_type("hello")) > hellos

    await until(resynced, "a fresh hello after the listener was terminated")
    resync = socket.of_type("hello")[-1]
    customers = sorted({conv["customer"]["id"] for conv in socket.of_type("conversation.assigned")})
    assert {c["customer"]["id"] for c in resync["conversations"]} == set(customers)
    mark = len(socket.frames)
    after = [(customer, f"after-{customer}") for customer in customers]
    await post_all(clients, after)

    async def got_them() -> bool:
        return all(socket.delivered(mark)[m] >= 1 for _, m in after)

    await until(got_them, "messages after the lost listener")
    await asyncio.sleep(0.5)
    assert all(socket.delivered(mark)[m] == 1 for _, m in after)
    assert socket.event_seqs(mark) == list(range(resync["seq"] + 1, resync["seq"] + 1 + len(after)))


async def a_killed_instance_hands_over(
    clients: list[httpx.AsyncClient], process: Any, victim: Socket, survivors: list[Socket], dora: Socket
) -> None:
    """Phase 3: SIGKILL of the victim's instance: its conversations reach agents on the other instances."""
    held = {conv["conversation_id"] for conv in victim.of_type("conversation.assigned")}
    assert held
    marks = {id(s): len(s.frames) for s in survivors}
    process.kill()
    process.wait()

    async def all_moved() -> bool:
        moved = {
            f["conversation_id"]
            for s in survivors
            for f in s.frames[marks[id(s)] :]
            if f["type"] == "conversation.assigned"
        }
        return held <= moved

    await until(all_moved, "every conversation of the killed instance's agent on another agent's socket")
    final = await owners(clients[0])
    assert victim.agent_id not in final.values()
    assert None not in final.values()  # nothing pending
    # dora kept a socket on a surviving instance: she stayed online and kept her conversations
    assert {f["conversation_id"] for f in dora.of_type("conversation.assigned")} <= {
        cid for cid, agent in final.items() if agent == dora.agent_id
    }


async def test_three_instances_on_postgresql_alone(tmp_path: Path, postgres_database: str) -> None:
    names = ["pg-a", "pg-b", "pg-c"]
    ports = [free_port() for _ in names]
    servers = [(port, environment(name, postgres_database)) for port, name in zip(ports, names, strict=True)]
    with running_servers(tmp_path, servers) as processes:
        clients = [httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) for port in ports]
        async with contextlib.AsyncExitStack() as stack:
            for client in clients:
                await stack.enter_async_context(client)
            a, b, c = ports
            alice = await stack.enter_async_context(agent_socket(a, "pg-a", "alice"))
            bob = await stack.enter_async_context(agent_socket(b, "pg-b", "bob"))
            carol = await stack.enter_async_context(agent_socket(c, "pg-c", "carol"))
            dora_a = await stack.enter_async_context(agent_socket(a, "pg-a", "dora"))
            dora_c = await stack.enter_async_context(agent_socket(c, "pg-c", "dora"))
            sockets = [alice, bob, carol, dora_a, dora_c]

            async def all_queued() -> bool:
                queue = (await clients[0].get("/admin/queue", headers=ADMIN)).json()["agents"]
                return sorted(x["agent_id"] for x in queue if x["position"] is not None) == [
                    "alice",
                    "bob",
                    "carol",
                    "dora",
                ]

            async def all_hello() -> bool:
                return all(s.frames for s in sockets)

            await until(all_queued, "every agent in the queue")
            await until(all_hello, "a hello on every socket")
            assert all(s.frames[0]["type"] == "hello" for s in sockets)

            await every_message_reaches_its_owner_once(clients, sockets)
            await a_lost_listener_resyncs(clients, postgres_database, "pg-b", bob)
            await a_killed_instance_hands_over(clients[:2], processes[2], carol, [alice, bob, dora_a], dora_a)
