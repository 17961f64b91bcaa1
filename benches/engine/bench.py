"""Engine bench: how many assignment decisions the orchestrator applies per second on the memory adapters,
and how the cost of one message moves with the number of agents and of open conversations.

    uv run python benches/engine/bench.py            # full grid, up to 10,000 agents x 1,000,000 conversations
    uv run python benches/engine/bench.py --quick    # smaller grid and fewer messages
    uv run python benches/engine/bench.py --profile  # plus a cProfile of the smallest case

Every case starts from a fresh :class:`MemoryStore` holding ``agents`` online agents and ``open`` open
conversations already assigned to them (written straight through the store's unit of work: going through the
orchestrator would take minutes at a million), then times ``--messages`` customer messages through
``DispatcherOrchestrator.handle_incoming_message``:

* *assign*: each from a new customer, so each is one ASSIGN_NEW_AGENT decision applied (conversation and
  message written, queue rotated, ``ConversationAssigned`` published);
* *keep*: the same customers again, so each is a KEEP_CURRENT_AGENT decision applied (message written and
  delivered).

The raw ceiling is the same number of bare ``AssignmentService.decide`` calls, timed in the same run: the
orchestrated figures are printed as a share of it, and per-message costs as ratios to the smallest case. No
threshold is asserted; the goals (>= 100,000 decisions/s, ratios <= 1.3) are printed beside the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import itertools
import platform
import pstats
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from dispatcher_adapters.memory import MemoryEventBus, MemoryStore
from dispatcher_core.entities import AgentPresence, Conversation, IncomingMessage
from dispatcher_core.orchestrator import DispatcherOrchestrator
from dispatcher_core.services.assignment import AssignmentService
from dispatcher_core.settings import DispatcherSettings
from dispatcher_core.testing import ManualClock

BUSINESS = "bench-business"
NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
GOAL_DECISIONS_PER_SECOND = 100_000
GOAL_RATIO = 1.3


@dataclass(frozen=True, slots=True)
class Case:
    agents: int
    open: int


@dataclass(frozen=True, slots=True)
class Timing:
    case: Case
    assign_seconds: float  # per message, best of the repeats
    keep_seconds: float
    setup_seconds: float


def build_world(case: Case, capacity: int) -> tuple[MemoryStore, DispatcherOrchestrator]:
    """A store with ``case.agents`` online agents and ``case.open`` open conversations spread over them."""
    store = MemoryStore()
    ids = itertools.count()
    orchestrator = DispatcherOrchestrator(
        uow_factory=store.unit_of_work,
        publisher=MemoryEventBus(history=0),
        clock=ManualClock(NOW),
        settings=DispatcherSettings(agent_capacity=capacity),
        new_id=lambda: f"id-{next(ids)}",
    )
    agents = [f"agent-{n}" for n in range(case.agents)]

    async def populate() -> None:
        async with store.unit_of_work() as uow:
            for agent in agents:
                await uow.presence.save(AgentPresence.offline(agent, NOW).connect(f"{agent}/socket", NOW))
                await uow.queue.add(agent)
            await uow.commit()
        batch = 20_000
        for start in range(0, case.open, batch):
            async with store.unit_of_work() as uow:
                for n in range(start, min(start + batch, case.open)):
                    conversation = Conversation.open(
                        id=f"pre-{n}", business_number_id=BUSINESS, customer_id=f"pre-customer-{n}", now=NOW
                    )
                    await uow.conversations.add(conversation.assign_to(agents[n % case.agents], NOW))
                await uow.commit()

    asyncio.run(populate())
    return store, orchestrator


def time_messages(orchestrator: DispatcherOrchestrator, customers: Sequence[str], round_: str) -> float:
    """Seconds to push one message from each customer through the orchestrator, one after the other."""

    async def push() -> float:
        started = time.process_time()
        for index, customer in enumerate(customers):
            await orchestrator.handle_incoming_message(
                IncomingMessage(business_number_id=BUSINESS, customer_id=customer, external_id=f"{round_}-{index}")
            )
        return time.process_time() - started

    return asyncio.run(push())


def run_case(case: Case, messages: int, repeats: int, capacity: int) -> Timing:
    started = time.process_time()
    _, orchestrator = build_world(case, capacity)
    setup = time.process_time() - started
    # The store is long-lived; keep the collector from rescanning it on every full collection while timing.
    gc.collect()
    gc.freeze()
    try:
        time_messages(orchestrator, [f"warm-{n}" for n in range(min(1000, messages))], "warm")
        assign, keep = [], []
        for repeat in range(repeats):
            customers = [f"new-{repeat}-{n}" for n in range(messages)]
            assign.append(time_messages(orchestrator, customers, f"a{repeat}") / messages)
            keep.append(time_messages(orchestrator, customers, f"k{repeat}") / messages)
    finally:
        gc.unfreeze()
    return Timing(case, min(assign), min(keep), setup)


def raw_ceiling(count: int, repeats: int) -> float:
    """Seconds per bare ``AssignmentService.decide`` call (new customer, next agent known: ASSIGN_NEW)."""
    service = AssignmentService()
    decide = service.decide
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        for _ in range(count):
            decide(None, False, "agent-1")
        best = min(best, time.process_time() - started)
    return best / count


def profile_smallest(case: Case, messages: int, capacity: int) -> str:
    _, orchestrator = build_world(case, capacity)
    profiler = cProfile.Profile()
    customers = [f"profiled-{n}" for n in range(messages)]
    profiler.enable()
    time_messages(orchestrator, customers, "profiled")
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(20)
    return out.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smaller grid (up to 100,000 conversations)")
    parser.add_argument("--messages", type=int, default=None, help="messages timed per case and round")
    parser.add_argument("--repeats", type=int, default=3, help="rounds per case; the best one counts (3)")
    parser.add_argument("--capacity", type=int, default=0, help="agent capacity setting (0 = unlimited)")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of the smallest case")
    args = parser.parse_args(argv)
    messages = args.messages or (5_000 if args.quick else 20_000)
    if messages < 1 or args.repeats < 1 or args.capacity < 0:
        parser.error("--messages and --repeats must be >= 1, --capacity >= 0")
    agent_counts = (10, 1_000, 10_000)
    open_counts = (1_000, 100_000) if args.quick else (1_000, 100_000, 1_000_000)
    cases = [Case(agents, open_) for open_ in open_counts for agents in agent_counts]

    out: Callable[[str], None] = print
    out(
        f"engine bench: memory adapters, Python {platform.python_version()} ({platform.machine()}), one core; "
        f"{messages:,} messages per case and round, best of {args.repeats}; "
        f"capacity {args.capacity or 'unlimited'}"
    )
    raw = raw_ceiling(messages, args.repeats)
    out(f"raw ceiling: AssignmentService.decide alone  {1 / raw:>12,.0f} decisions/s  ({raw * 1e6:.3f} us each)")
    out("")
    header = (
        f"{'agents':>7} {'open conv':>10} | {'assign us':>9} {'decisions/s':>11} {'ratio':>6} {'% of raw':>8} | "
        f"{'keep us':>8} {'decisions/s':>11} {'ratio':>6} | {'setup s':>7}"
    )
    out(header)
    out("-" * len(header))
    timings: list[Timing] = []
    for case in cases:
        timing = run_case(case, messages, args.repeats, args.capacity)
        timings.append(timing)
        base = timings[0]
        out(
            f"{case.agents:>7,} {case.open:>10,} | {timing.assign_seconds * 1e6:>9.2f} "
            f"{1 / timing.assign_seconds:>11,.0f} {timing.assign_seconds / base.assign_seconds:>6.2f} "
            f"{raw / timing.assign_seconds:>8.2%} | {timing.keep_seconds * 1e6:>8.2f} "
            f"{1 / timing.keep_seconds:>11,.0f} {timing.keep_seconds / base.keep_seconds:>6.2f} | "
            f"{timing.setup_seconds:>7.1f}"
        )
        sys.stdout.flush()
    best = min(t.assign_seconds for t in timings)
    worst_ratio = max(t.assign_seconds for t in timings) / timings[0].assign_seconds
    worst_keep = max(t.keep_seconds for t in timings) / timings[0].keep_seconds
    out("")
    out(
        f"goal >= {GOAL_DECISIONS_PER_SECOND:,} decisions/s: best assign case {1 / best:,.0f}/s "
        f"({'met' if 1 / best >= GOAL_DECISIONS_PER_SECOND else 'NOT met'})"
    )
    out(
        f"goal ratios <= {GOAL_RATIO}: worst assign ratio {worst_ratio:.2f}, worst keep ratio {worst_keep:.2f} "
        f"({'met' if max(worst_ratio, worst_keep) <= GOAL_RATIO else 'NOT met'})"
    )
    if args.profile:
        out("")
        out(f"cProfile of {messages:,} assign messages, {cases[0].agents} agents / {cases[0].open:,} conversations:")
        out(profile_smallest(cases[0], messages, args.capacity))
    return 0


if __name__ == "__main__":
    sys.exit(main())
