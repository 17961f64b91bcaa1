"""``dispatcher agent-token AGENT_ID``: print a JWT an agent's client uses on ``/ws/agent?token=...``.

Only ``DISPATCHER_AGENT_TOKEN_SECRET`` is needed (environment or ``.env``). Any backend sharing that secret can
mint the same tokens itself (HS256, ``sub`` = agent id; see ``docs/api.md``): this command is for trying the
dispatcher out and for scripts.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from dispatcher_app.auth import mint_agent_token
from dispatcher_app.config import environment
from dispatcher_core.errors import InvalidInput

__all__ = ["register"]

_SECRET = "DISPATCHER_AGENT_TOKEN_SECRET"


def _positive_seconds(text: str) -> timedelta:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < seconds < 10**9:
        raise argparse.ArgumentTypeError("the lifetime must be a positive number of seconds")
    return timedelta(seconds=seconds)


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "agent-token",
        help="print a JWT for an agent (needs DISPATCHER_AGENT_TOKEN_SECRET)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("agent_id", metavar="AGENT_ID", help="the agent's id, as your backend knows it")
    parser.add_argument(
        "--ttl", type=_positive_seconds, default=None, help="lifetime in seconds (default: the token never expires)"
    )
    parser.add_argument("--env-file", default=".env", help="file of variables to read as well (default: .env)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    secret = environment(env_file=args.env_file).get(_SECRET, "").strip()
    if not secret:
        print(f"dispatcher agent-token: missing {_SECRET} (environment or {args.env_file})", file=sys.stderr)
        return 2
    try:
        token = mint_agent_token(secret, args.agent_id, now=datetime.now(UTC), ttl=args.ttl)
    except InvalidInput as exc:
        print(f"dispatcher agent-token: {exc}", file=sys.stderr)
        return 2
    print(token)
    return 0
