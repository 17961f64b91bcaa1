"""Several dispatcher instances, as separate OS processes, on one PostgreSQL database.

Three workers (``sql_worker.py``) share 5,000 customer messages over 500 customers; a fifth of the messages is
also sent to a second worker (WhatsApp retries landing on another instance); agents connect and disconnect
on their own worker while one agent keeps a socket on every worker; every worker runs the daily distribution
and the response-timeout check for the same slot. Afterwards :mod:`invariants` (``tests/support``) checks I1,
I2, I4 and I7 from the final database state and the events all workers published.

Events travel through PostgreSQL alone (``carry_events=True``), and every worker listens for every agent: each
worker must have received every agent event any worker published, exactly once, numbered 1, 2, 3... per agent
with no gap and no resync.
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from dispatcher_adapters.sql import SqlStore, upgrade
from dispatcher_adapters.sql.tables import slot_claims

WORKERS = ("w1", "w2", "w3")
CUSTOMERS = 500
MESSAGES = 5_000
DUPLICATE_SHARE = 0.2
PINNED_AGENTS = ("agent-1", "agent-2", "agent-3", "agent-4", "agent-5")
EVERYWHERE_AGENT = "agent-0"
HERE = Path(__file__).resolve().parent
AGENT_EVENTS = {"conversation.assigned", "message.received", "conversation.released", "conversation.closed"}


async def _admin(server_url: str, statement: str) -> None:
    conn = await asyncpg.connect(make_url(server_url).set(drivername="postgresql").render_as_string(False))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture
def database_url(postgres_url: str) -> Iterator[str]:
    name = f"dsql_multi_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(postgres_url, f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_url).set(drivername="postgresql+asyncpg", database=name).render_as_string(False)
    try:
        asyncio.run(upgrade(url))
        yield url
    finally:
        asyncio.run(_admin(postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def build_plans(seed: int = 20260105) -> tuple[dict[str, list[dict[str, Any]]], set[tuple[str, str]], int]:
    """Each worker's operations, the distinct messages sent, and how many duplicate deliveries there are."""
    rng = random.Random(seed)
    timelines: dict[str, list[tuple[float, dict[str, Any]]]] = {w: [] for w in WORKERS}
    sent: set[tuple[str, str]] = set()
    duplicates = 0
    for n in range(MESSAGES):
        customer = rng.randrange(CUSTOMERS)
        op = {
            "kind": "message",
            "business": f"bn-{customer % 2 + 1}",
            "customer": f"cust-{customer:03d}",
            "external_id": f"wamid.{n:05d}",
        }
        sent.add((op["business"], op["external_id"]))
        first = rng.choice(WORKERS)
        timelines[first].append((n, op))
        if rng.random() < DUPLICATE_SHARE:
            other = rng.choice([w for w in WORKERS if w != first])
            timelines[other].append((n + rng.uniform(-20, 20), op))  # close in time: a real race
            duplicates += 1
    for worker in WORKERS:
        timelines[worker].append((-1, {"kind": "connect", "agent": EVERYWHERE_AGENT, "socket": f"sock-{worker}"}))
        timelines[worker].append((MESSAGES * 0.5, {"kind": "scheduled_distribution"}))
        timelines[worker].append((MESSAGES * 0.75, {"kind": "check_response_timeout"}))
    for index, agent in enumerate(PINNED_AGENTS):
        worker = WORKERS[index % len(WORKERS)]
        toggles = sorted(rng.uniform(0, MESSAGES) for _ in range(rng.choice((3, 4, 5))))
        for count, at in enumerate(toggles):
            kind = "connect" if count % 2 == 0 else "disconnect"
            timelines[worker].append((at, {"kind": kind, "agent": agent, "socket": f"sock-{agent}"}))
    plans = {w: [op for _, op in sorted(timelines[w], key=lambda item: item[0])] for w in WORKERS}
    return plans, sent, duplicates


def run_workers(url: str, plans: dict[str, list[dict[str, Any]]], tmp_path: Path) -> list[dict[str, Any]]:
    processes: dict[str, subprocess.Popen[str]] = {}
    try:
        for worker, plan in plans.items():
            (tmp_path / f"{worker}.plan.json").write_text(json.dumps(plan))
            processes[worker] = subprocess.Popen(
                [
                    sys.executable,
                    str(HERE / "sql_worker.py"),
                    *("--url", url, "--name", worker),
                    *("--plan", str(tmp_path / f"{worker}.plan.json")),
                    *("--events", str(tmp_path / f"{worker}.events.jsonl")),
                    *("--result", str(tmp_path / f"{worker}.result.json")),
                    *("--agents", ",".join((EVERYWHERE_AGENT, *PINNED_AGENTS))),
                    *("--received", str(tmp_path / f"{worker}.received.jsonl")),
                    *("--workers", str(len(plans))),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        for worker, process in processes.items():
            assert process.stdout is not None
            line = process.stdout.readline()
            if line.strip() != "ready":
                process.kill()
                _, stderr = process.communicate()
                raise AssertionError(f"{worker} did not start: {line!r}\n{stderr}")
        for process in processes.values():
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        for worker, process in processes.items():
            _, stderr = process.communicate(timeout=600)  # a guard against a hang, not a performance bound
            assert process.returncode == 0, f"{worker} failed:\n{stderr}"
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.communicate()
    return [json.loads((tmp_path / f"{worker}.result.json").read_text()) for worker in plans]


def agent_event_key(record: dict[str, Any]) -> tuple[Any, ...]:
    return (record["agent_id"], record["type"], record["conversation_id"], record.get("message_id"))


def check_every_worker_received_every_agent_event(
    events: list[dict[str, Any]], tmp_path: Path, counters: dict[str, int]
) -> None:
    published = Counter(
        agent_event_key(e) for e in events if e["type"] in AGENT_EVENTS and e.get("agent_id") is not None
    )
    assert sum(published.values()) == sum(counters.values())  # one number per agent event, none spent twice
    for worker in WORKERS:
        received = [json.loads(line) for line in (tmp_path / f"{worker}.received.jsonl").read_text().splitlines()]
        per_agent: dict[str, list[int]] = {}
        for record in received:
            per_agent.setdefault(record["agent"], []).append(record["seq"])
        assert per_agent == {agent: list(range(1, last + 1)) for agent, last in counters.items()}, worker
        assert Counter(agent_event_key(r) for r in received) == published, worker


async def final_state(invariants: ModuleType, url: str) -> tuple[Any, dict[str, int], dict[str, int]]:
    store = await SqlStore.create(url)
    try:
        snapshot = await invariants.take_snapshot(store.unit_of_work)
        async with store.engine.connect() as conn:
            rows = await conn.execute(sa.select(slot_claims.c.job, sa.func.count()).group_by(slot_claims.c.job))
            claims = {job: int(count) for job, count in rows}
            numbered = await conn.execute(sa.text("SELECT agent_id, last_seq FROM dispatcher_event_counters"))
            counters: dict[str, int] = {str(agent): int(last) for agent, last in numbered}
    finally:
        await store.close()
    return snapshot, claims, counters


@pytest.mark.slow
@pytest.mark.postgres
def test_three_processes_on_one_postgres_database_keep_the_invariants(
    database_url: str, tmp_path: Path, invariants: ModuleType
) -> None:
    plans, sent, duplicates = build_plans()
    results = run_workers(database_url, plans, tmp_path)

    assert sum(r["accepted"] for r in results) == len(sent)
    assert sum(r["duplicates"] for r in results) == duplicates > 0
    snapshot, claims, counters = asyncio.run(final_state(invariants, database_url))
    events = invariants.load_events(tmp_path / f"{worker}.events.jsonl" for worker in WORKERS)
    assert any(e["type"] == "conversation.assigned" for e in events)
    assert sum(e["type"] == "queue.updated" for e in events) >= len(PINNED_AGENTS) + 1
    runs: dict[str, int] = {}
    for result in results:
        for job, count in result["runs"].items():
            runs[job] = runs.get(job, 0) + count

    problems = [
        *invariants.check_i1(snapshot, events),
        *invariants.check_i2(snapshot, events, sent),
        *invariants.check_i4(events),
        *invariants.check_i7(runs, claims),
    ]
    assert problems == [], "\n".join(problems[:50])
    assert [r["resyncs"] for r in results] == [[], [], []]
    check_every_worker_received_every_agent_event(events, tmp_path, counters)
