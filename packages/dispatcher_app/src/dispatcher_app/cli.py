"""The ``dispatcher`` command line. Each sub-command lives in its own module under
``dispatcher_app.commands`` and registers itself here; this module only wires them."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from dispatcher_app.commands import agent_token, db, serve, simulate

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dispatcher", description="WhatsApp conversation dispatcher.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve.register(commands)
    agent_token.register(commands)
    simulate.register(commands)
    db.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    result: int = args.handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
