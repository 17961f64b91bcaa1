"""The store crashes under steady webhook traffic and comes back: the app recovers by itself.

PostgreSQL (a cluster of the test's own, ``pg_ctl stop -m immediate`` then ``start``): webhooks refused during
the outage get 503, ``/readyz`` is 200 again once the server is back, the refused bodies succeed when resent
(as Meta does) - and in the end every message is stored exactly once: 0 lost, 0 duplicated. Redis, as the whole
store with its append-only file, killed and restarted the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest

from dispatcher_adapters.sql import upgrade
from dispatcher_app import create_app
from dispatcher_app.testing import AppHarness, AppSlot, eventually, make_config, mounted, serve, text_message_body

from .throwaway import postgres_cluster, redis_server

pytestmark = pytest.mark.slow


class Traffic:
    """Meta, for this test: posts numbered messages one after another; a body answered 503 is kept to be
    resent later. Any other answer than 200 or 503 fails the test."""

    def __init__(self, h: AppHarness) -> None:
        self.h = h
        self.next = 0
        self.accepted = 0
        self.refused: list[bytes] = []
        self.other: list[str] = []
        self.stop = asyncio.Event()

    def body(self, index: int) -> bytes:
        return text_message_body(
            business_number_id="B", customer_id=f"c{index % 7}", message_id=f"wamid.{index}", text=f"message {index}"
        )

    async def post(self, body: bytes) -> int:
        try:
            response = await self.h.post_webhook(body)
        except httpx.TransportError as exc:  # not expected: the app server itself stays up
            self.other.append(repr(exc))
            return 0
        if response.status_code == 200:
            counts = response.json()
            assert counts["duplicates"] == 0 or counts["accepted"] == 0
            self.accepted += counts["accepted"]
        elif response.status_code != 503:
            self.other.append(f"{response.status_code}: {response.text}")
        return response.status_code

    async def run(self) -> None:
        while not self.stop.is_set():
            body = self.body(self.next)
            self.next += 1
            if await self.post(body) == 503:
                self.refused.append(body)
            await asyncio.sleep(0.005)

    async def resend_refused(self) -> None:
        for body in self.refused:
            for _ in range(200):
                if await self.post(body) == 200:
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("a refused body was never accepted when resent")


async def wait_for(condition: Callable[[], bool]) -> None:
    async def check() -> bool:
        return condition()

    await eventually(check, give_up_after=60)


async def stored_ids(h: AppHarness) -> list[str]:
    found: list[str] = []
    listing = await h.admin("GET", "/admin/conversations", params={"limit": 500})
    assert listing.status_code == 200, listing.text
    for conversation in listing.json()["conversations"]:
        detail = (await h.admin("GET", f"/admin/conversations/{conversation['id']}")).json()
        found += [message["external_id"] for message in detail["messages"]]
    return found


async def ready(h: AppHarness) -> bool:
    return (await h.http.get("/readyz")).status_code == 200


async def crash_and_recover(h: AppHarness, crash: Callable[[], None], start: Callable[[], None]) -> float:
    """Steady traffic; crash the store; restart it; the seconds from the restart to ``/readyz`` 200."""
    traffic = Traffic(h)
    task = asyncio.create_task(traffic.run())
    try:
        await wait_for(lambda: traffic.accepted >= 20)
        await asyncio.to_thread(crash)
        await wait_for(lambda: len(traffic.refused) >= 10)  # the outage is seen: 503, so Meta retries
        assert not await ready(h)
        await asyncio.to_thread(start)
        restarted = time.monotonic()
        await eventually(lambda: ready(h), give_up_after=60)
        recovery = time.monotonic() - restarted
        accepted_at_recovery = traffic.accepted
        await wait_for(lambda: traffic.accepted >= accepted_at_recovery + 20)
    finally:
        traffic.stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await traffic.resend_refused()
    assert traffic.other == []
    ids = await stored_ids(h)
    assert len(ids) == len(set(ids)), "a message was stored twice"
    assert sorted(ids) == sorted(f"wamid.{index}" for index in range(traffic.next)), "a message was lost"
    assert traffic.accepted == traffic.next
    print(f"recovered {recovery:.2f}s after the restart; {len(traffic.refused)} bodies refused then resent")
    return recovery


@pytest.mark.postgres
async def test_postgres_killed_and_restarted_under_traffic() -> None:
    with postgres_cluster() as cluster:
        await upgrade(cluster.url)
        config = make_config(database_url=cluster.url, tick_interval=timedelta(hours=1))
        slot = AppSlot()
        async with serve(slot) as server, mounted(slot, server, create_app(config), config) as h:
            await crash_and_recover(h, cluster.crash, cluster.start)


@pytest.mark.redis
async def test_redis_store_killed_and_restarted_under_traffic() -> None:
    with redis_server(appendonly=True) as redis:
        config = make_config(database_url=redis.url, redis_prefix="restart", tick_interval=timedelta(hours=1))
        slot = AppSlot()
        async with serve(slot) as server, mounted(slot, server, create_app(config), config) as h:
            await crash_and_recover(h, redis.crash, redis.start)


@pytest.mark.postgres
async def test_redis_for_coordination_killed_and_restarted(postgres_database: str) -> None:
    """PostgreSQL is the record: while Redis is down webhooks are still stored (200) and ``/readyz`` says
    which dependency failed; once Redis is back ``/readyz`` is 200 again, by itself."""
    with redis_server(appendonly=False) as redis:
        config = make_config(
            database_url=postgres_database,
            redis_url=redis.url,
            redis_prefix="coordination",
            tick_interval=timedelta(hours=1),
        )
        slot = AppSlot()
        async with serve(slot) as server, mounted(slot, server, create_app(config), config) as h:
            traffic = Traffic(h)
            assert await traffic.post(traffic.body(0)) == 200
            await asyncio.to_thread(redis.crash)
            for index in range(1, 11):
                assert await traffic.post(traffic.body(index)) == 200
            readiness = await h.http.get("/readyz")
            assert readiness.status_code == 503
            assert readiness.json()["checks"]["store"] == "ok"
            assert readiness.json()["checks"]["events"].startswith("failed")
            await asyncio.to_thread(redis.start)
            await eventually(lambda: ready(h), give_up_after=60)
            assert await traffic.post(traffic.body(11)) == 200
            assert sorted(await stored_ids(h)) == sorted(f"wamid.{index}" for index in range(12))
            assert traffic.accepted == 12
