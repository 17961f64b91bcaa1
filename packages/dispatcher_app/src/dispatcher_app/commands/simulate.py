"""``dispatcher simulate``: an offline run of the real dispatcher on a virtual clock, with a report.

Options are checked before anything runs; a bad value is an argparse error (exit status 2) naming the option.
The work itself is in :mod:`dispatcher_app.simulation`; this module only parses and prints. Every option is
documented in ``docs/simulation.md``.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Callable
from datetime import time, timedelta
from pathlib import Path
from typing import Any

from dispatcher_app.simulation import (
    ProgressBar,
    SimulationConfig,
    SimulationConfigError,
    render_html,
    render_json,
    render_text,
    run_simulation,
)
from dispatcher_core.errors import InvalidInput
from dispatcher_core.settings import DispatcherSettings
from dispatcher_core.types import RoutingPolicy

__all__ = ["parse_duration", "register"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")


def parse_duration(text: str) -> timedelta:
    """``"90"`` or ``"90s"`` (seconds), ``"15m"``, ``"24h"``, ``"1d"`` -> a non-negative ``timedelta``.
    Plain numbers are seconds, like the ``DISPATCHER_*`` environment variables."""
    match = _DURATION.match(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r} (examples: 30s, 15m, 24h, 1d, 90)")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2) or "s"])


def _clock_time(text: str) -> time:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text.strip())
    if match is None or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise argparse.ArgumentTypeError(f"invalid time {text!r} (expected HH:MM, e.g. 09:00)")
    return time(int(match.group(1)), int(match.group(2)))


def _number(kind: type[int] | type[float], minimum: float, maximum: float | None = None) -> Callable[[str], Any]:
    """An argparse ``type`` accepting ``kind`` values in [minimum, maximum]."""

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid {kind.__name__} value {text!r}") from None
        if not math.isfinite(value) or value < minimum or (maximum is not None and value > maximum):
            bound = f"between {minimum:g} and {maximum:g}" if maximum is not None else f">= {minimum:g}"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {text!r}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``simulate`` sub-command to the ``dispatcher`` CLI."""
    parser = commands.add_parser(
        "simulate",
        help="run the dispatcher offline on a virtual clock and print a report",
        description="Run the real dispatcher (memory store, virtual clock) on simulated customers and agents, "
        "then print a report. Deterministic: the same options print the same report.",
    )
    load = parser.add_argument_group("workload")
    load.add_argument("--agents", metavar="N", type=_number(int, 1), default=5, help="number of agents (default 5)")
    load.add_argument(
        "--messages", metavar="N", type=_number(int, 0), default=1000, help="distinct customer messages (1000)"
    )
    load.add_argument(
        "--customers",
        metavar="N",
        type=_number(int, 1),
        default=None,
        help="distinct customers (default: messages / 4)",
    )
    load.add_argument(
        "--hours", metavar="HOURS", type=_number(float, 0.001), default=24.0, help="virtual duration in hours (24)"
    )
    load.add_argument("--seed", metavar="SEED", type=int, default=0, help="random seed (0)")
    load.add_argument(
        "--duplicate-rate",
        metavar="RATE",
        type=_number(float, 0, 1),
        default=0.05,
        help="share of messages WhatsApp delivers twice (0.05)",
    )
    agents = parser.add_argument_group("agents")
    agents.add_argument(
        "--shift-hours",
        metavar="HOURS",
        type=_number(float, 0),
        default=0.0,
        help="each agent works shifts this long, staggered (default 0: everyone online the whole run)",
    )
    agents.add_argument(
        "--off-hours",
        metavar="HOURS",
        type=_number(float, 0),
        default=None,
        help="rest between shifts (default 24 - shift)",
    )
    agents.add_argument(
        "--absence-rate",
        metavar="RATE",
        type=_number(float, 0, 1),
        default=0.0,
        help="probability an agent skips a shift (0)",
    )
    agents.add_argument(
        "--reload-rate",
        metavar="PER_HOUR",
        type=_number(float, 0),
        default=0.0,
        help="page reloads per agent per online hour (0)",
    )
    agents.add_argument(
        "--reply-delay-min",
        metavar="MINUTES",
        type=_number(float, 0),
        default=1.0,
        help="fastest agent reply, minutes (1)",
    )
    agents.add_argument(
        "--reply-delay-max",
        metavar="MINUTES",
        type=_number(float, 0),
        default=30.0,
        help="slowest agent reply, minutes (30)",
    )
    agents.add_argument(
        "--close-rate",
        metavar="RATE",
        type=_number(float, 0, 1),
        default=0.3,
        help="probability an agent closes a conversation after replying (0.3)",
    )
    rules = parser.add_argument_group(
        "dispatcher settings", "DURATION is 30s, 15m, 24h, 1d, or plain seconds (like the DISPATCHER_* variables)"
    )
    rules.add_argument(
        "--capacity", metavar="N", type=_number(int, 0), default=0, help="conversations per agent, 0 = unlimited"
    )
    rules.add_argument(
        "--policy",
        choices=[policy.value for policy in RoutingPolicy],
        default=RoutingPolicy.ROUND_ROBIN.value,
        help="how the next agent is picked (round_robin)",
    )
    rules.add_argument(
        "--response-timeout",
        metavar="DURATION",
        type=parse_duration,
        default=timedelta(hours=24),
        help="unanswered this long: taken from its agent (24h)",
    )
    rules.add_argument(
        "--inactivity-timeout",
        metavar="DURATION",
        type=parse_duration,
        default=timedelta(hours=24),
        help="silent this long, nothing unanswered: closed (24h)",
    )
    rules.add_argument(
        "--timeout-check-interval",
        metavar="DURATION",
        type=parse_duration,
        default=timedelta(minutes=30),
        help="how often deadlines are checked (30m)",
    )
    rules.add_argument(
        "--grace", metavar="DURATION", type=parse_duration, default=timedelta(seconds=30), help="disconnect grace (30s)"
    )
    rules.add_argument(
        "--distribution-time",
        metavar="HH:MM",
        type=_clock_time,
        default=time(9, 0),
        help="daily distribution, HH:MM (09:00)",
    )
    rules.add_argument("--timezone", metavar="ZONE", default="UTC", help="zone of --distribution-time (UTC)")
    output = parser.add_argument_group("output")
    output.add_argument("--json", action="store_true", help="print one JSON object instead of the text report")
    output.add_argument("--report", type=Path, default=None, metavar="FILE", help="also write an HTML report")
    output.add_argument(
        "--progress",
        choices=("auto", "always", "never"),
        default="auto",
        help="progress bar on stderr (auto: only when stderr is a terminal)",
    )
    parser.set_defaults(handler=lambda args: _run(parser, args))


def _config(parser: argparse.ArgumentParser, args: argparse.Namespace) -> SimulationConfig:
    """Build and validate the run, or exit through ``parser.error`` before anything happens."""
    try:
        settings = DispatcherSettings(
            agent_capacity=args.capacity,
            routing_policy=RoutingPolicy(args.policy),
            response_timeout=args.response_timeout,
            inactivity_timeout=args.inactivity_timeout,
            timeout_check_interval=args.timeout_check_interval,
            disconnect_grace=args.grace,
            scheduled_distribution_time=args.distribution_time,
            timezone=args.timezone,
        )
        config = SimulationConfig(
            agents=args.agents,
            messages=args.messages,
            customers=args.customers,
            hours=args.hours,
            seed=args.seed,
            duplicate_rate=args.duplicate_rate,
            shift_hours=args.shift_hours,
            off_hours=args.off_hours,
            absence_rate=args.absence_rate,
            reload_rate=args.reload_rate,
            reply_delay_min=args.reply_delay_min,
            reply_delay_max=args.reply_delay_max,
            close_rate=args.close_rate,
            settings=settings,
        )
    except (InvalidInput, SimulationConfigError) as exc:
        parser.error(_option_names(str(exc)))
    if args.report is not None and (args.report.is_dir() or not args.report.parent.is_dir()):
        parser.error(f"--report: cannot write {str(args.report)!r} (not a file in an existing directory)")
    return config


def _option_names(message: str) -> str:
    """The core names its settings (``timeout_check_interval``); the user typed options."""
    for setting, option in (
        ("agent_capacity", "--capacity"),
        ("response_timeout", "--response-timeout"),
        ("inactivity_timeout", "--inactivity-timeout"),
        ("timeout_check_interval", "--timeout-check-interval"),
        ("disconnect_grace", "--grace"),
        ("unknown timezone", "--timezone: unknown timezone"),
    ):
        message = message.replace(setting, option)
    return message


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    config = _config(parser, args)
    draw = args.progress == "always" or (args.progress == "auto" and sys.stderr.isatty())
    bar = ProgressBar(sys.stderr) if draw else None
    try:
        result = run_simulation(config, progress=bar)
    finally:
        if bar is not None:
            bar.close()
    sys.stdout.write(render_json(result) if args.json else render_text(result))
    if args.report is not None:
        try:
            args.report.write_text(render_html(result), encoding="utf-8")
        except OSError as exc:
            print(f"dispatcher simulate: cannot write the HTML report: {exc}", file=sys.stderr)
            return 1
        print(f"HTML report written to {args.report}", file=sys.stderr)
    return 0
