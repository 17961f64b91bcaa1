"""20,000 fuzzed signed webhooks per store, against a real ``dispatcher serve`` (run by hand, not in CI).

    uv run python benches/robustness/fuzz_webhooks.py                      # 20,000 per store, three stores
    uv run python benches/robustness/fuzz_webhooks.py --examples 2000 --stores sqlite

Per store (SQLite, PostgreSQL on DISPATCHER_TEST_POSTGRES_URL, Redis-only on DISPATCHER_TEST_REDIS_URL): half
planned hostile bodies (valid messages mixed with poisoned ones: lone surrogates, NUL characters, over-long ids,
senders, names, texts - each answered 200 with exact counts), half shapeless JSON salted with the same strings
(never a 5xx). Then the store is read back through the admin routes: every valid message exactly once, no
poisoned one, and nothing else than what was answered ``accepted``. Prints the answers by status code and the
counts; exits 1 on any 5xx or mismatch. The generator is the CI fuzz test's (``tests/app_e2e/hostile.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import ModuleType

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
import httpx
from redis.asyncio import Redis
from sqlalchemy.engine import make_url

from dispatcher_adapters.redis import delete_prefix
from dispatcher_adapters.sql import upgrade

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {
    "DISPATCHER_ADMIN_TOKEN": "fuzz-admin",
    "DISPATCHER_AGENT_TOKEN_SECRET": "fuzz-agent-secret-0123456789abcdef012345",
    "WHATSAPP_APP_SECRET": "fuzz-app-secret",
    "WHATSAPP_VERIFY_TOKEN": "fuzz-verify",
}


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


hostile = _load("dispatcher_fuzz_hostile", ROOT / "tests" / "app_e2e" / "hostile.py")
e2e = _load("dispatcher_fuzz_e2e", ROOT / "tests" / "app_e2e" / "conftest.py")


def _plain(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def _create_database(server: str) -> str:
    name = f"dfuzz_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(_plain(server))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = _plain(server, name)
    await upgrade(url)
    return url


async def _drop_database(server: str, url: str) -> None:
    admin = await asyncpg.connect(_plain(server))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    finally:
        await admin.close()


async def _delete_prefix(url: str, prefix: str) -> None:
    client = Redis.from_url(url, decode_responses=True)
    try:
        await delete_prefix(client, prefix)
    finally:
        await client.aclose()


def run_store(store: str, examples: int, workdir: Path) -> bool:
    postgres = os.environ.get("DISPATCHER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    redis = os.environ.get("DISPATCHER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    prefix = f"dfuzz-{uuid.uuid4().hex[:12]}"
    match store:
        case "sqlite":
            database = {"DISPATCHER_DATABASE_URL": f"sqlite:///{workdir / 'fuzz.sqlite3'}"}
        case "postgresql":
            database = {"DISPATCHER_DATABASE_URL": asyncio.run(_create_database(postgres))}
        case _:
            database = {"DISPATCHER_DATABASE_URL": redis, "DISPATCHER_REDIS_PREFIX": prefix}
    port = e2e.free_port()
    started = time.monotonic()
    try:
        with (
            e2e.running_servers(workdir, [(port, e2e.clean_environment(**SECRETS, **database))]),
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client,
        ):
            fuzzer = hostile.Fuzzer(
                client, SECRETS["WHATSAPP_APP_SECRET"], {"Authorization": f"Bearer {SECRETS['DISPATCHER_ADMIN_TOKEN']}"}
            )
            problems: list[str] = []
            try:
                fuzzer.run_planned(examples // 2)
                fuzzer.run_free(examples - examples // 2)
            except AssertionError as exc:  # hypothesis shrank a failing example: show it
                problems.append(f"failing example: {exc}")
            found = fuzzer.stored()
            if {k: found.get(k) for k in fuzzer.must_store} != fuzzer.must_store:
                problems.append("a valid message is missing or altered")
            if fuzzer.must_not_store & found.keys():
                problems.append("a poisoned message was stored")
            if len(found) != len(fuzzer.must_store) + fuzzer.free_accepted:
                problems.append(f"{len(found)} stored, expected {len(fuzzer.must_store) + fuzzer.free_accepted}")
            elapsed = time.monotonic() - started
            bodies = sum(fuzzer.statuses.values())
            print(
                f"{store:10} {bodies:6} bodies in {elapsed:6.1f} s  answers {dict(sorted(fuzzer.statuses.items()))}"
                f"  5xx {fuzzer.server_errors}  valid stored {len(fuzzer.must_store)}"
                f"  poisoned rejected {len(fuzzer.must_not_store)}  free accepted {fuzzer.free_accepted}"
                f"  stored total {len(found)}"
            )
            for problem in problems:
                print(f"{store:10} PROBLEM: {problem}")
            return not problems and fuzzer.server_errors == 0
    finally:
        if store == "postgresql":
            asyncio.run(_drop_database(postgres, database["DISPATCHER_DATABASE_URL"]))
        elif store == "redis":
            asyncio.run(_delete_prefix(redis, prefix))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=20_000, help="bodies per store (default: 20000)")
    parser.add_argument("--stores", nargs="+", default=["sqlite", "postgresql", "redis"])
    args = parser.parse_args()
    ok = True
    for store in args.stores:
        with tempfile.TemporaryDirectory(prefix="dispatcher-fuzz-") as workdir:
            ok = run_store(store, args.examples, Path(workdir)) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
