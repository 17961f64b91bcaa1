"""One dispatcher instance of the multi-instance SQL test, as a separate OS process.

    python sql_worker.py --url URL --plan plan.json --events events.jsonl --result result.json --name w1

It builds the real orchestrator (SystemClock, no grace period) on the shared PostgreSQL database, prints
``ready``, waits for ``go`` on stdin (so every worker starts together), then runs its share of the plan:
messages handled concurrently, agent connects and disconnects and scheduled jobs in plan order. Events go to
``events.jsonl`` (see ``tests/support/invariants.py``); counts and errors to ``result.json``.
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


from tests.support.invariants import EventRecorder, stamped

from dispatcher_adapters.memory import SystemClock
from dispatcher_adapters.sql import SqlStore
from dispatcher_core import (
    DispatcherOrchestrator,
    DispatcherScheduler,
    DispatcherSettings,
    IncomingMessage,
)

CONCURRENCY = 6


async def run(args: argparse.Namespace, operations: list[dict[str, Any]]) -> dict[str, Any]:
    store = await SqlStore.create(args.url, pool_size=CONCURRENCY + 1, max_overflow=0)
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
    finally:
        await store.close()
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    for option in ("--url", "--plan", "--events", "--result", "--name"):
        parser.add_argument(option, required=True)
    args = parser.parse_args()
    result = asyncio.run(run(args, json.loads(Path(args.plan).read_text())))
    Path(args.result).write_text(json.dumps(result))
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
