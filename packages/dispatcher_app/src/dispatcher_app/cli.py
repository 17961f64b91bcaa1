"""The ``dispatcher`` command line. Each sub-command lives in its own module under
``dispatcher_app.commands`` with a ``register(subparsers)``; this module only wires them.

Only the chosen sub-command's module is imported (the others appear in ``--help`` through the table
below), so ``dispatcher simulate`` does not load the web stack and ``dispatcher --help`` answers at once.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

__all__ = ["COMMANDS", "build_parser", "main"]

#: name -> (module, one-line help shown by ``dispatcher --help``)
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("dispatcher_app.commands.serve", "run the HTTP and WebSocket server"),
    "agent-token": (
        "dispatcher_app.commands.agent_token",
        "print a JWT for an agent (needs DISPATCHER_AGENT_TOKEN_SECRET)",
    ),
    "api-key": ("dispatcher_app.commands.api_key", "create, list and revoke the public API's keys"),
    "simulate": (
        "dispatcher_app.commands.simulate",
        "run the dispatcher offline on a virtual clock and print a report",
    ),
    "worker": ("dispatcher_app.commands.worker", "run only the WhatsApp sender loop, without HTTP"),
    "db": ("dispatcher_app.commands.db", "migrate the SQL database schema (SQLite or PostgreSQL)"),
    "demo": (
        "dispatcher_app.commands.demo",
        "run the app with simulated agents and customers, and its live dashboard (no configuration)",
    ),
}


def build_parser(selected: str | None = None) -> argparse.ArgumentParser:
    """The parser; the ``selected`` sub-command (or every one, with ``None``) is registered in full."""
    parser = argparse.ArgumentParser(prog="dispatcher", description="WhatsApp conversation dispatcher.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, summary) in COMMANDS.items():
        if selected is None or name == selected:
            importlib.import_module(module).register(commands)
        else:
            commands.add_parser(name, help=summary)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    selected = arguments[0] if arguments and arguments[0] in COMMANDS else ""
    args = build_parser(selected).parse_args(arguments)
    result: int = args.handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
