"""``dispatcher api-key``: create, list and revoke the public API's keys in the configured store.

    dispatcher api-key create NAME --scope read|send|admin   # prints the key: shown this once
    dispatcher api-key list                                  # id, scope, state, hint, name (never the keys)
    dispatcher api-key revoke KEY_ID

The store is the one ``dispatcher serve`` uses: ``DISPATCHER_DATABASE_URL`` (environment, then ``.env``), else
the embedded SQLite file; ``DISPATCHER_REDIS_PREFIX`` for a Redis store. A ``memory://`` store is refused (the
key would vanish with this command). The same operations are ``/api/v1/api-keys`` (docs/api.md). Exit status:
0 done, 1 store unreachable, 2 bad input or unknown key.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from typing import Any

from dispatcher_app.config import AppConfig, StoreKind, default_database_url, environment
from dispatcher_core.entities.api_key import ApiKeyScope, new_api_key
from dispatcher_core.errors import InvalidInput, StoreError

__all__ = ["register"]


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "api-key",
        help="create, list and revoke the public API's keys",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--env-file", default=".env", help="file of variables to read as well (default: .env)")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a key and print it (shown this once)")
    create.add_argument("name", metavar="NAME", help="who uses the key, for people")
    create.add_argument("--scope", required=True, choices=[scope.value for scope in ApiKeyScope])
    actions.add_parser("list", help="list the keys (never the keys themselves)")
    revoke = actions.add_parser("revoke", help="revoke a key at once")
    revoke.add_argument("key_id", metavar="KEY_ID")
    parser.set_defaults(handler=run)


async def _act(config: AppConfig, args: argparse.Namespace) -> int:
    from dispatcher_app.container import open_api_keys  # noqa: PLC0415  - the web stack only for this command

    async with open_api_keys(config) as keys:
        if args.action == "create":
            secret, key = new_api_key(args.name, ApiKeyScope(args.scope), datetime.now(UTC))
            if not await keys.add(key):
                print("dispatcher api-key: a key with this id or hash exists; try again", file=sys.stderr)
                return 1
            print(f"created {key.id} ({key.scope.value}): {key.name}", file=sys.stderr)
            print(secret)
            return 0
        if args.action == "list":
            for key in await keys.list():
                state = "active" if key.active else f"revoked {key.revoked_at:%Y-%m-%d %H:%M}"
                print(f"{key.id}\t{key.scope.value}\t{state}\t{key.hint}…\t{key.name}")
            return 0
        revoked = await keys.revoke(args.key_id, datetime.now(UTC))
        if revoked is None:
            print(f"dispatcher api-key: no key {args.key_id!r}", file=sys.stderr)
            return 2
        print(f"revoked {revoked.id}: {revoked.name}")
        return 0


def run(args: argparse.Namespace) -> int:
    values = environment(env_file=args.env_file)
    try:
        config = AppConfig(
            database_url=values.get("DISPATCHER_DATABASE_URL") or default_database_url(values),
            redis_prefix=values.get("DISPATCHER_REDIS_PREFIX") or "dispatcher",
        )
        if config.store_kind is StoreKind.MEMORY:
            raise InvalidInput("DISPATCHER_DATABASE_URL is memory://: a key kept there would vanish at once")
        return asyncio.run(_act(config, args))
    except InvalidInput as exc:
        print(f"dispatcher api-key: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"dispatcher api-key: the store failed: {exc}", file=sys.stderr)
        return 1
