"""One dispatcher instance of the multi-instance SQL test, as a separate OS process.

    python sql_worker.py --url URL --plan plan.json --events events.jsonl --result result.json --name w1 \
        --agents agent-0,agent-1 --received received.jsonl

It builds the real orchestrator (SystemClock, no grace period) on the shared PostgreSQL database, prints
``ready``, waits for ``go`` on stdin (so every worker starts together), then runs its share of the plan:
messages handled concurrently, agent connects and disconnects and scheduled jobs in plan order. Events go to
``events.jsonl`` (see ``tests/support/invariants.py``); counts and errors to ``result.json``.

Events also travel as they do with PostgreSQL alone (``carry_events=True``): each worker listens for the
events of every agent in ``--agents`` from the start, like an instance holding a socket of each, and writes
what it received (agent, ``seq``, event) to ``received.jsonl`` once every worker finished and its listener
caught up with the agents' counters.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import traceback
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for tests.support


import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
from tests.support.invariants import EventRecorder, event_record, stamped

from dispatcher_adapters.memory import SystemClock
from dispatcher_adapters.sql import PgEventEnvelope, PostgresEventSubscriber, SqlStore
from dispatcher_core import (
    DispatcherOrchestrator,
    DispatcherScheduler,
    DispatcherSettings,
    IncomingMessage,
)

CONCURRENCY = 6


class Received:
    """What this worker's listener delivered, as the agents' sockets here would get it."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.resyncs: list[str] = []

    async def on_agent_event(self, envelope: PgEventEnvelope) -> None:
        self.records.append({"agent": envelope.agent_id, "seq": envelope.seq, **event_record(envelope.event)})

    async def resync(self, agent_id: str) -> None:
        self.resyncs.append(agent_id)


def _mark_done(received: str) -> None:
    Path(received + ".done").write_text("done")


def _done_count(received: str) -> int:
    return len(list(Path(received).parent.glob("*.received.jsonl.done")))


async def wait_for_everyone(args: argparse.Namespace, store: SqlStore, subscriber: PostgresEventSubscriber) -> None:
    """Every worker is done, and this listener delivered each watched agent's events up to its counter."""
    _mark_done(args.received)
    while _done_count(args.received) < args.workers:  # noqa: ASYNC110  # other processes: no event to wait on
        await asyncio.sleep(0.05)
    conn = await asyncpg.connect(store.engine.url.set(drivername="postgresql").render_as_string(False))
    try:
        rows = await conn.fetch("SELECT agent_id, last_seq FROM dispatcher_event_counters")
        counters = {agent: int(last) for agent, last in rows}
    finally:
        await conn.close()
    for _ in range(6000):  # a guard against a hang, not a performance bound
        if all((subscriber.last_seq(agent) or 0) >= counters.get(agent, 0) for agent in args.agents.split(",")):
            return
        await asyncio.sleep(0.02)
    raise RuntimeError(f"the listener never caught up: {counters}")


async def run(args: argparse.Namespace, operations: list[dict[str, Any]]) -> dict[str, Any]:
    store = await SqlStore.create(args.url, pool_size=CONCURRENCY + 1, max_overflow=0, carry_events=True)
    received = Received()
    subscriber = store.event_subscriber(
        on_agent_event=received.on_agent_event, resync=received.resync, poll_interval=0.1
    )
    await subscriber.start()
    for agent in args.agents.split(","):
        await subscriber.watch(agent)
    settings = DispatcherSettings(disconnect_grace=timedelta(0))
    uow_factory = stamped(store.unit_of_work)
    orchestrator = DispatcherOrchestrator(
        uow_factory=uow_factory,
        publisher=EventRecorder(Path(args.events), args.name),
        clock=SystemClock(),
        settings=settings,
    )
    scheduler = DispatcherScheduler(
        orchestrator=orchestrator, uow_factory=uow_factory, clock=SystemClock(), settings=settings
    )
    result: dict[str, Any] = {"accepted": 0, "duplicates": 0, "runs": {}, "errors": []}
    slots = asyncio.Semaphore(CONCURRENCY)

    async def handle(op: dict[str, Any]) -> None:
        try:
            incoming = IncomingMessage(
                business_number_id=op["business"], customer_id=op["customer"], external_id=op["external_id"]
            )
            outcome = await orchestrator.handle_incoming_message(incoming)
            result["duplicates" if outcome.duplicate else "accepted"] += 1
        except Exception:
            result["errors"].append(traceback.format_exc())
        finally:
            slots.release()

    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        raise SystemExit("expected 'go' on stdin")
    tasks: list[asyncio.Task[None]] = []
    try:
        for op in operations:
            kind = op["kind"]
            if kind == "message":
                await slots.acquire()
                tasks.append(asyncio.create_task(handle(op)))
            elif kind == "connect":
                await orchestrator.handle_agent_connected(op["agent"], op["socket"])
            elif kind == "disconnect":
                await orchestrator.handle_agent_disconnected(op["agent"], op["socket"])
            elif kind == "scheduled_distribution":
                ran = await scheduler.scheduled_distribution() is not None
                result["runs"]["scheduled_distribution"] = result["runs"].get("scheduled_distribution", 0) + ran
            elif kind == "check_response_timeout":
                ran = await scheduler.check_response_timeout() is not None
                result["runs"]["check_response_timeout"] = result["runs"].get("check_response_timeout", 0) + ran
            else:
                raise ValueError(f"unknown operation {kind!r}")
        await asyncio.gather(*tasks)
        await wait_for_everyone(args, store, subscriber)
    finally:
        await subscriber.aclose()
        await store.close()
    result["received"] = received.records
    result["resyncs"] = received.resyncs
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    for option in ("--url", "--plan", "--events", "--result", "--name", "--agents", "--received"):
        parser.add_argument(option, required=True)
    parser.add_argument("--workers", type=int, default=3)
    args = parser.parse_args()
    result = asyncio.run(run(args, json.loads(Path(args.plan).read_text())))
    received = result.pop("received", [])
    Path(args.received).write_text("".join(json.dumps(record) + "\n" for record in received))
    Path(args.result).write_text(json.dumps(result))
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
