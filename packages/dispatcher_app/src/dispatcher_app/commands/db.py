"""``dispatcher db``: schema migrations of the SQL store (Alembic, shipped in ``dispatcher_adapters.sql``).

    dispatcher db upgrade [REVISION] [--url URL]     # default: to the newest revision ("head")
    dispatcher db downgrade REVISION [--url URL]     # e.g. "-1", "base" (drops every table of the store)
    dispatcher db current [--url URL]

The URL comes from ``--url``, else ``DISPATCHER_DATABASE_URL`` (environment, then ``.env``), else the embedded
default: a SQLite file in the platform's data directory (``dispatcher_app.config.default_database_url``, the
same as ``dispatcher serve``). Exit status: 0 done, 1 database unreachable or failing,
2 bad input (unknown revision, a URL that is not SQLite or PostgreSQL). The password of a URL is never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from dotenv import dotenv_values
from sqlalchemy.engine import make_url

from dispatcher_adapters.sql import current_revision, downgrade, normalize_url, upgrade
from dispatcher_app.config import default_database_url
from dispatcher_core.errors import InvalidInput, StoreError

__all__ = ["register", "resolve_url"]

_DEFAULT_SHOWN = "a SQLite file in the platform's data directory, as for `dispatcher serve`"
_ENV = "DISPATCHER_DATABASE_URL"


def resolve_url(explicit: str | None) -> str:
    """``--url``, else ``DISPATCHER_DATABASE_URL`` from the environment or ``.env``, else the default."""
    if explicit:
        return explicit
    from_env = os.environ.get(_ENV) or dotenv_values(".env").get(_ENV)
    return from_env or default_database_url()


def _shown(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not even parseable: normalize_url reports it properly; never echo a secret
        return "<unparseable URL>"


def _run(action: Callable[[str], Coroutine[Any, Any, str]], args: argparse.Namespace) -> int:
    url = resolve_url(args.url)
    try:
        normalize_url(url)
        message = asyncio.run(action(url))
    except InvalidInput as exc:
        print(f"dispatcher db: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"dispatcher db: database {_shown(url)} failed: {exc}", file=sys.stderr)
        return 1
    print(f"{_shown(url)}: {message}")
    return 0


def _upgrade(args: argparse.Namespace) -> int:
    async def action(url: str) -> str:
        before = await current_revision(url)
        await upgrade(url, args.revision)
        return f"upgraded from {before or 'empty'} to {await current_revision(url)}"

    return _run(action, args)


def _downgrade(args: argparse.Namespace) -> int:
    async def action(url: str) -> str:
        before = await current_revision(url)
        await downgrade(url, args.revision)
        return f"downgraded from {before or 'empty'} to {await current_revision(url) or 'empty (base)'}"

    return _run(action, args)


def _current(args: argparse.Namespace) -> int:
    async def action(url: str) -> str:
        return f"at revision {await current_revision(url) or 'none (never migrated)'}"

    return _run(action, args)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``db`` sub-command (``upgrade``, ``downgrade``, ``current``) to the ``dispatcher`` CLI."""
    parser = commands.add_parser(
        "db",
        help="migrate the SQL database schema (SQLite or PostgreSQL)",
        description="Schema migrations of the SQL store. The URL is --url, else DISPATCHER_DATABASE_URL, else "
        f"{_DEFAULT_SHOWN}.",
    )
    actions = parser.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    url_help = f"database URL (default: ${_ENV}, else {_DEFAULT_SHOWN})"

    up = actions.add_parser("upgrade", help="migrate up (default: to the newest revision)")
    up.add_argument("revision", nargs="?", default="head", help="target revision (default: head)")
    up.add_argument("--url", help=url_help)
    up.set_defaults(handler=_upgrade)

    down = actions.add_parser("downgrade", help="migrate down to REVISION ('-1', 'base', ...)")
    down.add_argument("revision", help="target revision: an id, '-1' for one step, 'base' for an empty database")
    down.add_argument("--url", help=url_help)
    down.set_defaults(handler=_downgrade)

    current = actions.add_parser("current", help="print the revision the database is at")
    current.add_argument("--url", help=url_help)
    current.set_defaults(handler=_current)
