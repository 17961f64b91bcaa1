"""HTTP bench: the WhatsApp webhook of the dispatcher app next to a bare endpoint, measured in the same run.

    uv run python benches/http/bench_webhook.py                 # ~1.5 min
    uv run python benches/http/bench_webhook.py --duration 10 --concurrency 32 --rate 1000

Each server runs in a process of its own (``server.py``), served by uvicorn as ``dispatcher serve`` does; this
process is the load generator and the agents.

1. **Throughput** - ``--concurrency`` keep-alive connections post signed webhook bodies (one text message each,
   from ``--customers`` customers, so most messages follow an open conversation) as fast as answers come, for
   ``--duration`` seconds after ``--warmup``: messages per second and the latency percentiles of the answers.
   The three servers run at once and the rounds alternate between them (``--rounds``, the best counts).
   Sides: the **bare** endpoint (HMAC check + JSON parse, nothing else: the ceiling), the app on the
   **memory** store, the app on **SQLite** (a file in a temporary directory). ``--agents`` agents are
   connected to the app and read their frames. Goals: >= 50 % (memory) and >= 20 % (SQLite) of the bare rate.
2. **Webhook -> agent frame** - messages posted at a fixed ``--rate`` (open loop: each is sent at its
   scheduled time whatever happened to the previous ones) for ``--latency-duration`` seconds; the latency is
   from the scheduled send time to the moment the agent's socket delivers the frame with that message.
   Goal: p99 <= 10 ms at 1,000 messages/s.

Nothing is asserted: the figures depend on the machine and on what else runs on it. The load generator is
Python too and shares the machine, so the bare ceiling is partly the client's own limit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from websockets.asyncio.client import ClientConnection, connect

from dispatcher_app.testing import signed_webhook_headers, text_message_body

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loadgen import Connection, Results, percentile  # the sibling module, found through the line above
from server import AGENT_SECRET, APP_SECRET  # same

BUSINESS = "bench-business"
GOALS = {"memory": 0.50, "sqlite": 0.20}
P99_GOAL_MS = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def webhook_body(message_id: str, customer: str, text: str) -> tuple[bytes, dict[str, str]]:
    """A one-message body as Meta sends it, and its signed headers."""
    body = text_message_body(
        business_number_id=BUSINESS, customer_id=customer, message_id=message_id, text=text, name=f"Customer {customer}"
    )
    return body, signed_webhook_headers(body, APP_SECRET)


@asynccontextmanager
async def server(kind: str) -> AsyncIterator[int]:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(Path(__file__).with_name("server.py")), kind, "--port", str(port)
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                connection = await Connection.open("127.0.0.1", port)
                await connection.close()
                break
            except OSError:
                if process.returncode is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{kind} server did not start") from None
                await asyncio.sleep(0.05)
        yield port
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)


class Agents:
    """Agent sockets reading every frame; in the latency phase, the arrival time of each message's frame."""

    def __init__(self) -> None:
        self.sockets: list[ClientConnection] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.arrivals: dict[str, float] = {}
        self.watch = False

    async def connect(self, port: int, count: int) -> None:
        for index in range(count):
            token = jwt.encode({"sub": f"bench-agent-{index}"}, AGENT_SECRET, algorithm="HS256")
            websocket = await connect(f"ws://127.0.0.1:{port}/ws/agent?token={token}", max_size=None)
            self.sockets.append(websocket)
            self.tasks.append(asyncio.create_task(self._read(websocket)))

    async def _read(self, websocket: ClientConnection) -> None:
        with contextlib.suppress(Exception):  # the socket closes when the server stops
            async for frame in websocket:
                if not self.watch:
                    continue
                now = time.perf_counter()
                data = json.loads(frame)
                if data["type"] == "message.received":
                    self.arrivals[data["message"]["external_id"]] = now
                elif data["type"] == "conversation.assigned":
                    self.arrivals[data["messages"][-1]["external_id"]] = now

    async def close(self) -> None:
        for websocket in self.sockets:
            await websocket.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def throughput(port: int, args: argparse.Namespace, label: str) -> Results:
    results = Results()
    counter = iter(range(10**9))
    stop_at = time.perf_counter() + args.warmup + args.duration
    measure_from = time.perf_counter() + args.warmup

    async def worker() -> None:
        connection = await Connection.open("127.0.0.1", port)
        try:
            while (started := time.perf_counter()) < stop_at:
                n = next(counter)
                body, headers = webhook_body(f"wamid.{label}.{n}", f"c{n % args.customers}", f"message {n}")
                status, _ = await connection.post("/webhooks/whatsapp", body, headers)
                if started >= measure_from:
                    if status == 200:
                        results.latencies.append(time.perf_counter() - started)
                    else:
                        results.errors += 1
        finally:
            await connection.close()

    await asyncio.sleep(0)
    results.started = measure_from
    await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    results.finished = stop_at
    return results


@dataclass
class FrameLatency:
    sent: int
    frames: int
    http: list[float]
    delivery: list[float]
    errors: int


async def frame_latency(port: int, agents: Agents, args: argparse.Namespace, label: str) -> FrameLatency:
    total = int(args.rate * args.latency_duration)
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(args.concurrency):
        pool.put_nowait(await Connection.open("127.0.0.1", port))
    scheduled: dict[str, float] = {}
    http: list[float] = []
    errors = 0
    agents.watch = True

    async def send(message_id: str, customer: str, at: float) -> None:
        nonlocal errors
        body, headers = webhook_body(message_id, customer, "latency probe")
        connection = await pool.get()
        try:
            status, _ = await connection.post("/webhooks/whatsapp", body, headers)
        finally:
            pool.put_nowait(connection)
        if status == 200:
            http.append(time.perf_counter() - at)
        else:
            errors += 1

    start = time.perf_counter() + 0.2
    pending: list[asyncio.Task[None]] = []
    for n in range(total):
        at = start + n / args.rate
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        message_id = f"wamid.{label}.latency.{n}"
        scheduled[message_id] = at
        pending.append(asyncio.create_task(send(message_id, f"c{n % args.customers}", at)))
    await asyncio.gather(*pending)
    await asyncio.sleep(0.5)  # the last frames
    agents.watch = False
    while not pool.empty():
        await pool.get_nowait().close()
    delivery = [agents.arrivals[m] - at for m, at in scheduled.items() if m in agents.arrivals]
    return FrameLatency(sent=total, frames=len(delivery), http=http, delivery=delivery, errors=errors)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f}"


async def run(args: argparse.Namespace, say: Callable[[str], None]) -> dict[str, Any]:
    """All three servers run at once; throughput rounds alternate between them and the best round of each
    side counts, so a burst of load from elsewhere on the machine does not land on one side only."""
    report: dict[str, Any] = {"throughput": {}, "frame_latency": {}}
    kinds = ("bare", "memory", "sqlite")
    async with contextlib.AsyncExitStack() as stack:
        ports = {kind: await stack.enter_async_context(server(kind)) for kind in kinds}
        agents = {kind: Agents() for kind in kinds if kind != "bare"}
        for kind, group in agents.items():
            await group.connect(ports[kind], args.agents)
            stack.push_async_callback(group.close)
        best: dict[str, Results] = {}
        for round_number in range(args.rounds):
            for kind in kinds:
                result = await throughput(ports[kind], args, f"{kind}.tp{round_number}")
                if kind not in best or result.rate > best[kind].rate:
                    best[kind] = result
            say(f"  round {round_number + 1}/{args.rounds}: " + ", ".join(f"{k} {best[k].rate:,.0f}" for k in kinds))
        for kind, result in best.items():
            report["throughput"][kind] = {
                "messages_per_s": result.rate,
                "p50_ms": result.p(50) * 1000,
                "p99_ms": result.p(99) * 1000,
                "errors": result.errors,
            }
        for kind, group in agents.items():
            latency = await frame_latency(ports[kind], group, args, kind)
            report["frame_latency"][kind] = {
                "rate": args.rate,
                "sent": latency.sent,
                "frames": latency.frames,
                "errors": latency.errors,
                "http_p50_ms": percentile(latency.http, 50) * 1000,
                "http_p99_ms": percentile(latency.http, 99) * 1000,
                "frame_p50_ms": percentile(latency.delivery, 50) * 1000,
                "frame_p99_ms": percentile(latency.delivery, 99) * 1000,
                "frame_max_ms": max(latency.delivery, default=float("nan")) * 1000,
            }
            say(f"  {kind} frame latency done")
    return report


def print_report(report: dict[str, Any], args: argparse.Namespace) -> None:
    tp = report["throughput"]
    bare = tp["bare"]["messages_per_s"]
    print(
        f"\nthroughput: best of {args.rounds} rounds of {args.duration:g} s (after {args.warmup:g} s warm-up), "
        f"{args.concurrency} connections, {args.customers} customers, {args.agents} agents connected"
    )
    print(f"{'side':<8} {'msg/s':>9} {'% of bare':>10} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}  goal")
    for kind, row in tp.items():
        share = row["messages_per_s"] / bare
        goal = GOALS.get(kind)
        verdict = "" if goal is None else f">= {goal:.0%}: {'met' if share >= goal else 'NOT met'}"
        print(
            f"{kind:<8} {row['messages_per_s']:>9,.0f} {share:>10.1%} {row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f} "
            f"{row['errors']:>7}  {verdict}"
        )
    print(f"\nwebhook -> agent frame at {args.rate:,} msg/s for {args.latency_duration:g} s (open loop)")
    print(
        f"{'side':<8} {'frames':>13} {'http p50':>9} {'http p99':>9} {'frame p50':>10} {'frame p99':>10} "
        f"{'max':>8}  goal p99 <= {P99_GOAL_MS:g} ms"
    )
    for kind, row in report["frame_latency"].items():
        verdict = "met" if row["frame_p99_ms"] <= P99_GOAL_MS else "NOT met"
        print(
            f"{kind:<8} {row['frames']:>6}/{row['sent']:<6} {row['http_p50_ms']:>9.2f} {row['http_p99_ms']:>9.2f} "
            f"{row['frame_p50_ms']:>10.2f} {row['frame_p99_ms']:>10.2f} {row['frame_max_ms']:>8.2f}  {verdict}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=3.0, help="measured seconds of each throughput round")
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds per side (the best counts)")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before that")
    parser.add_argument("--concurrency", type=int, default=16, help="keep-alive connections")
    parser.add_argument("--customers", type=int, default=500, help="distinct customers posting")
    parser.add_argument("--agents", type=int, default=5, help="agent sockets connected to the app")
    parser.add_argument("--rate", type=int, default=1000, help="messages per second of the latency run")
    parser.add_argument("--latency-duration", type=float, default=5.0, help="seconds of the latency run")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    args = parser.parse_args()
    say = (lambda line: None) if args.json else print
    say(f"python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}")
    report = asyncio.run(run(args, say))
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
