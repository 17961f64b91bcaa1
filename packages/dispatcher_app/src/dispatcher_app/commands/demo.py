"""``dispatcher demo``: the dispatcher working, live, on this machine, with nothing to configure.

Starts the app on a throw-away SQLite file with secrets generated for this run, a team of simulated agents
(real WebSocket clients that answer, close conversations, take breaks and come back) and simulated customers
posting signed WhatsApp webhooks, then prints the address of the live dashboard. Nothing is sent to WhatsApp:
agents' replies are recorded by the app's in-memory outbox. Ctrl-C stops everything and removes the
temporary files. See docs/demo.md.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
from typing import Any

from dispatcher_app.commands import add_log_format_option
from dispatcher_app.demo import CannotListen, DemoOptions, run_demo
from dispatcher_app.logs import configure_logging
from dispatcher_core.errors import InvalidInput
from dispatcher_core.types import RoutingPolicy

__all__ = ["register"]

#: More than this is a load test, not a demo (``benches/`` measures throughput).
_MAX_RATE = 100.0


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) < 65536:
        raise argparse.ArgumentTypeError(f"not a TCP port (0 picks a free one): {text!r}")
    return int(text)


def _int_between(low: int, high: int) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}, got {value}")
        return value

    return parse


def _positive_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def _rate(text: str) -> float:
    value = _positive_number(text)
    if value > _MAX_RATE:
        raise argparse.ArgumentTypeError(f"at most {_MAX_RATE:g} messages per second, got {text!r}")
    return value


def register(commands: Any) -> None:
    """Add the ``demo`` sub-command to the ``dispatcher`` CLI."""
    defaults = DemoOptions()
    parser = commands.add_parser(
        "demo",
        help="run the app with simulated agents and customers, and its live dashboard (no configuration)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default=defaults.host, help=f"interface to listen on (default: {defaults.host})")
    parser.add_argument(
        "--port", type=_port, default=defaults.port, help=f"TCP port, 0 picks a free one (default: {defaults.port})"
    )
    parser.add_argument(
        "--agents",
        type=_int_between(1, 50),
        default=defaults.agents,
        help=f"simulated agents (default: {defaults.agents})",
    )
    parser.add_argument(
        "--rate",
        type=_rate,
        default=defaults.rate,
        help=f"customer messages per second, on average (default: {defaults.rate:g})",
    )
    parser.add_argument(
        "--customers",
        type=_int_between(1, 10_000),
        default=defaults.customers,
        help=f"distinct customers writing (default: {defaults.customers})",
    )
    parser.add_argument(
        "--capacity",
        type=_int_between(0, 10_000),
        default=defaults.capacity,
        help=f"most open conversations per agent, 0 = unlimited (default: {defaults.capacity})",
    )
    parser.add_argument(
        "--policy",
        choices=[policy.value for policy in RoutingPolicy],
        default=defaults.policy.value,
        help=f"how the next agent is picked (default: {defaults.policy.value})",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed of the simulation's random choices")
    parser.add_argument(
        "--duration", type=_positive_number, default=None, help="stop by itself after this many seconds"
    )
    add_log_format_option(parser)
    parser.add_argument(
        "--store",
        choices=["sqlite", "memory"],
        default=defaults.store,
        help="sqlite: a temporary file, deleted on exit (the product's embedded default); memory: in-process",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Exit status 0 after a clean stop (Ctrl-C, SIGTERM or ``--duration``), 2 for bad options, 1 when the
    address cannot be bound."""
    try:
        options = DemoOptions(
            host=args.host,
            port=args.port,
            agents=args.agents,
            rate=args.rate,
            customers=args.customers,
            capacity=args.capacity,
            policy=RoutingPolicy(args.policy),
            seed=args.seed,
            duration=args.duration,
            store=args.store,
        )
    except InvalidInput as exc:
        print(f"dispatcher demo: {exc}", file=sys.stderr)
        return 2
    configure_logging("warning", args.log_format)
    try:
        asyncio.run(run_demo(options))
    except CannotListen as exc:
        print(f"dispatcher demo: {exc}", file=sys.stderr)
        if args.port:
            print("dispatcher demo: choose another --port, or --port 0 to pick a free one", file=sys.stderr)
        return 1
    return 0
