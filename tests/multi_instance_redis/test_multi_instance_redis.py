"""Three OS processes share the stores, in two topologies:

* **Redis only**: Redis is the whole store, the rotation and the event bus;
* **PostgreSQL as the record, Redis for the rotation and the events**: conversations, messages, pending
  messages, presence and slot claims in PostgreSQL, the queue in Redis (``hybrid.py``).

Each run: 5,000 messages from 600 customers, a tenth of them duplicates sent through another process; agents
flapping; both deduplication modes of the Redis store at once (worker 0 checks at the call, the others at
commit); and ``CLIENT KILL`` of every worker's Redis connections twice during the run, the second time with the
test's event subscriber too. Afterwards ``tests/support/invariants.py`` checks I1, I2, I4 and I7 from the final
store and the events every worker published, plus two checks of our own: no conversation version was written
twice (the compare-and-set never let two writers win), and the agents' event streams over pub/sub were in
sequence, every gap or reconnection answered by a resync.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import random
import sys
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
import pytest
import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.engine import make_url

from dispatcher_adapters.redis import (
    EventEnvelope,
    RedisEventSubscriber,
    RedisKeys,
    RedisStore,
    create_client,
    delete_prefix,
)
from dispatcher_adapters.sql import SqlStore, upgrade
from dispatcher_adapters.sql.tables import slot_claims

pytestmark = [pytest.mark.redis, pytest.mark.slow]

HERE = Path(__file__).resolve().parent
WORKERS = 3
AGENTS_PER_WORKER = 2
MESSAGES = 5_000
CUSTOMERS = 600
STEADY = 2_000  # the first messages, sent while every agent stays online
DUPLICATE_SHARE = 0.1
CHUNKS = 6  # the chaos phase, in chunks: an agent flaps at the start of each
CONCURRENCY = 4  # messages in flight per process
KILL_AT = (1_000, 3_600)  # messages handled before each CLIENT KILL
BOUND = 600.0  # seconds: only so that a broken run fails instead of hanging, never a performance bound


def _load_invariants() -> ModuleType:
    name = "dispatcher_test_support_invariants"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, HERE.parent / "support" / "invariants.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is being built
    spec.loader.exec_module(module)
    return module


invariants = _load_invariants()


def build_workload(seed: int) -> tuple[list[list[list[str]]], set[tuple[str, str]], int]:
    """Per worker, its messages [business, customer, external id] in order; every distinct message; and how
    many duplicate deliveries there are."""
    rng = random.Random(seed)
    customers = [(f"bn-{rng.randint(1, 2)}", f"cust-{n}") for n in range(CUSTOMERS)]
    items: list[tuple[int, list[str]]] = []
    duplicates = 0
    for n in range(MESSAGES):
        if items and rng.random() < DUPLICATE_SHARE:
            worker, original = items[rng.randrange(max(0, len(items) - 50), len(items))]  # a recent one: a race
            items.append(((worker + rng.randint(1, WORKERS - 1)) % WORKERS, original))
            duplicates += 1
        else:
            business, customer = rng.choice(customers)
            items.append((rng.randrange(WORKERS), [business, customer, f"wamid.{n}"]))
    per_worker: list[list[list[str]]] = [[] for _ in range(WORKERS)]
    for worker, item in items:
        per_worker[worker].append(item)
    return per_worker, {(item[0], item[2]) for _, item in items}, duplicates


async def kill_connections(admin: Redis, name_prefix: str) -> int:
    killed = 0
    for client in await admin.client_list():
        if client.get("name", "").startswith(name_prefix):
            killed += int(await admin.client_kill_filter(_id=client["id"]))
    return killed


class AgentStreams:
    """The test's own app instance: it watches every agent over pub/sub and records what arrives."""

    def __init__(self) -> None:
        self.seqs: dict[str, list[int]] = defaultdict(list)
        self.resyncs: Counter[str] = Counter()

    async def on_event(self, envelope: EventEnvelope) -> None:
        assert envelope.agent_id is not None
        assert envelope.seq is not None
        self.seqs[envelope.agent_id].append(envelope.seq)

    async def resync(self, agent_id: str) -> None:
        self.resyncs[agent_id] += 1


@pytest.fixture
async def admin(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


async def test_three_processes_on_one_redis_keep_the_invariants(redis_url: str, admin: Redis, tmp_path: Path) -> None:
    await run_topology(redis_url, None, admin, tmp_path)


@pytest.mark.postgres
async def test_three_processes_on_postgres_and_redis_keep_the_invariants(
    redis_url: str, postgres_url: str, admin: Redis, tmp_path: Path
) -> None:
    name = f"dredis_multi_{uuid.uuid4().hex[:12]}"
    await _postgres_admin(postgres_url, f'CREATE DATABASE "{name}"')
    try:
        url = make_url(postgres_url).set(drivername="postgresql+asyncpg", database=name).render_as_string(False)
        await upgrade(url)
        await run_topology(redis_url, url, admin, tmp_path)
    finally:
        await _postgres_admin(postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _postgres_admin(server_url: str, statement: str) -> None:
    conn = await asyncpg.connect(make_url(server_url).set(drivername="postgresql").render_as_string(False))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def run_topology(redis_url: str, database_url: str | None, admin: Redis, tmp_path: Path) -> None:
    prefix = f"test-mi-redis-{uuid.uuid4().hex[:10]}"
    per_worker, sent, duplicates = build_workload(seed=20260302)
    agents = [f"agent-{n}" for n in range(WORKERS * AGENTS_PER_WORKER)]
    streams = AgentStreams()
    sub_client = create_client(redis_url, client_name=f"{prefix}-sub")
    processes: list[asyncio.subprocess.Process] = []
    try:
        async with RedisEventSubscriber(
            sub_client, prefix=prefix, on_agent_event=streams.on_event, resync=streams.resync, poll_interval=0.05
        ) as subscriber:
            for agent in agents:
                await subscriber.watch(agent)
            for index in range(WORKERS):
                worker = await start_worker(
                    redis_url,
                    database_url,
                    prefix,
                    index,
                    items=per_worker[index],
                    agents=agents,
                    tmp_path=tmp_path,
                )
                processes.append(worker)
            killed = await kill_during_run(admin, prefix, processes)
            codes = [await asyncio.wait_for(p.wait(), BOUND) for p in processes]
            assert codes == [0] * WORKERS
            assert all(count > 0 for count in killed), f"CLIENT KILL found nothing to kill: {killed}"
            await drained(admin, subscriber, prefix, agents)

        results = [json.loads((tmp_path / f"worker-{i}.result.json").read_text()) for i in range(WORKERS)]
        assert sum(r["accepted"] for r in results) == len(sent)
        assert sum(r["duplicates"] for r in results) == duplicates > 0
        await check_everything(
            admin, prefix, database_url, results=results, sent=sent, tmp_path=tmp_path, streams=streams
        )
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()
        await sub_client.aclose()
        await delete_prefix(admin, prefix)


async def start_worker(
    redis_url: str,
    database_url: str | None,
    prefix: str,
    index: int,
    *,
    items: list[list[str]],
    agents: list[str],
    tmp_path: Path,
) -> asyncio.subprocess.Process:
    chaos = [item for item in items if int(item[2].split(".")[1]) >= STEADY]
    config = {
        "redis_url": redis_url,
        "database_url": database_url,
        "prefix": prefix,
        "index": index,
        "workers": WORKERS,
        "agents": agents[index * AGENTS_PER_WORKER : (index + 1) * AGENTS_PER_WORKER],
        "steady": [item for item in items if int(item[2].split(".")[1]) < STEADY],
        "chaos": [chaos[n::CHUNKS] for n in range(CHUNKS)],
        "concurrency": CONCURRENCY,
        "dedup": "check" if index == 0 else "at_commit",  # both modes in one run
        "events": str(tmp_path / f"worker-{index}.events.jsonl"),
        "output": str(tmp_path / f"worker-{index}.result.json"),
    }
    path = tmp_path / f"worker-{index}.config.json"
    path.write_text(json.dumps(config))
    return await asyncio.create_subprocess_exec(sys.executable, str(HERE / "worker.py"), str(path))


async def kill_during_run(admin: Redis, prefix: str, processes: list[asyncio.subprocess.Process]) -> list[int]:
    """Wait (polling the workers' progress counter) for each point of ``KILL_AT``, then kill connections:
    the workers' the first time, the workers' and the subscriber's the second time."""
    killed = []
    for number, threshold in enumerate(KILL_AT):
        while int(await admin.get(f"{prefix}:test:done") or 0) < threshold:
            assert all(p.returncode is None for p in processes), "a worker ended before the kill"
            await asyncio.sleep(0.01)
        killed.append(await kill_connections(admin, f"{prefix}-w"))
        if number == 1:
            killed.append(await kill_connections(admin, f"{prefix}-sub"))
    return killed


async def drained(admin: Redis, subscriber: RedisEventSubscriber, prefix: str, agents: list[str]) -> None:
    """Wait until the subscriber has caught up with every agent's last number (delivered or resynced)."""
    keys = RedisKeys(prefix)

    async def behind() -> list[str]:
        return [a for a in agents if (subscriber.last_seq(a) or 0) < int(await admin.hget(keys.event_seq(a), "n") or 0)]

    async def wait() -> None:
        while await behind():  # noqa: ASYNC110  # follows counters in Redis: no in-process event to wait on
            await asyncio.sleep(0.02)

    await asyncio.wait_for(wait(), BOUND)


async def final_state(admin: Redis, prefix: str, database_url: str | None) -> tuple[Any, Counter[str]]:
    """The record's final state (Redis, or PostgreSQL), and the slots claimed per job."""
    claims: Counter[str] = Counter()
    if database_url is None:
        snapshot = await invariants.take_snapshot(RedisStore(admin, prefix=prefix).unit_of_work)
        async for key in admin.scan_iter(match=f"{prefix}:slot:*", count=1000):
            _, rest = key.split(":slot:", 1)
            length, rest = rest.split(":", 1)
            claims[rest[: int(length)]] += 1
        return snapshot, claims
    store = await SqlStore.create(database_url)
    try:
        snapshot = await invariants.take_snapshot(store.unit_of_work)
        async with store.engine.connect() as conn:
            rows = await conn.execute(sa.select(slot_claims.c.job, sa.func.count()).group_by(slot_claims.c.job))
            claims.update({job: int(count) for job, count in rows})
    finally:
        await store.close()
    return snapshot, claims


async def check_everything(
    admin: Redis,
    prefix: str,
    database_url: str | None,
    *,
    results: list[dict[str, Any]],
    sent: set[tuple[str, str]],
    tmp_path: Path,
    streams: AgentStreams,
) -> None:
    events = invariants.load_events(tmp_path / f"worker-{i}.events.jsonl" for i in range(WORKERS))
    snapshot, claims = await final_state(admin, prefix, database_url)
    runs: Counter[str] = Counter()
    for result in results:
        runs.update(result["runs"])

    problems = [
        *invariants.check_i1(snapshot, events),
        *invariants.check_i2(snapshot, events, sent),
        *invariants.check_i4(events),
        *invariants.check_i7(dict(runs), dict(claims)),
    ]
    assert problems == [], "\n".join(problems[:50])

    # the fairness check had something to check: a long period with every agent online (the steady phase)
    period, longest = 0, 0
    for event in events:
        if event["type"] == "queue.updated":
            period = 0
        elif event["type"] == "conversation.assigned":
            period += 1
            longest = max(longest, period)
    assert longest > 300
    # every agent ends online, with nothing pending (I6)
    assert snapshot.pending == []
    assert all(m.delivered_to is not None for m in snapshot.messages)

    # the compare-and-set never let two writers win: each (conversation, version) was stored once, and the
    # versions of each conversation run 0..n without a gap
    written = Counter(tuple(commit) for result in results for commit in result["commits"])
    assert max(written.values()) == 1, "I1: a conversation version was written twice"
    versions: dict[str, list[int]] = defaultdict(list)
    for conversation_id, version in written:
        versions[conversation_id].append(version)
    final = {c.id: c.version for c in snapshot.conversations}
    assert {cid: sorted(v) for cid, v in versions.items()} == {cid: list(range(v + 1)) for cid, v in final.items()}

    # cross-instance events: each agent's numbers arrived in order, never twice; any number that did not
    # arrive (lost while a connection was down) was answered by a resync
    for agent, seqs in streams.seqs.items():
        assert seqs == sorted(set(seqs)), f"{agent}: events out of order or repeated"
        last = int(await admin.hget(RedisKeys(prefix).event_seq(agent), "n") or 0)
        if set(range(1, last + 1)) - set(seqs):
            assert streams.resyncs[agent] > 0, f"{agent}: events missing without a resync"
    assert sum(len(s) for s in streams.seqs.values()) > 0
