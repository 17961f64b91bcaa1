"""Hostile signed webhooks against a real ``dispatcher serve`` on each store (SQLite, PostgreSQL, Redis-only).

Invariant I10: a message that cannot be stored as it is (a lone surrogate, a NUL character, an id, a sender, a
name or a text over its limit) is rejected on its own - never a 5xx, never stored, and the valid messages of
the same body are stored exactly once. Then shapeless JSON salted with the same strings: never a 5xx, and only
what was answered ``accepted`` is in the store. The end state is read back through the admin routes, which
must be able to show every stored conversation (Redis-only used to store a lone surrogate, then fail to show it).

CI runs a bounded number of examples; ``benches/robustness/fuzz_webhooks.py`` runs 20,000 per store by hand.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
import httpx
import pytest
from redis.asyncio import Redis

from dispatcher_adapters.redis import delete_prefix
from dispatcher_adapters.sql import upgrade

from .conftest import _plain, clean_environment, free_port, running_servers
from .hostile import Fuzzer

SECRETS = {
    "DISPATCHER_ADMIN_TOKEN": "hostile-admin",
    "DISPATCHER_AGENT_TOKEN_SECRET": "hostile-agent-secret-0123456789abcdef0123",
    "WHATSAPP_APP_SECRET": "hostile-app-secret",
    "WHATSAPP_VERIFY_TOKEN": "hostile-verify",
}
ADMIN = {"Authorization": "Bearer hostile-admin"}
EXAMPLES = 60  # per phase and store in CI; the bench script runs 20,000


def _sync(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


async def _create_database(server_url: str) -> str:
    name = f"dapp_hostile_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(_plain(server_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = _plain(server_url, name)
    await upgrade(url)
    return url


async def _drop_database(server_url: str, url: str) -> None:
    admin = await asyncpg.connect(_plain(server_url))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await admin.close()


async def _delete_prefix(redis_url: str, prefix: str) -> None:
    client = Redis.from_url(redis_url, decode_responses=True)
    try:
        await delete_prefix(client, prefix)
    finally:
        await client.aclose()


@pytest.fixture(params=["sqlite", "postgresql", "redis"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[httpx.Client]:
    """A ``dispatcher serve`` process on the store of the parameter, and a client for it."""
    cleanup: Any = None
    match request.param:
        case "sqlite":
            database = {"DISPATCHER_DATABASE_URL": f"sqlite:///{tmp_path / 'hostile.sqlite3'}"}
        case "postgresql":
            server_url = request.getfixturevalue("postgres_url")
            url = _sync(_create_database(server_url))
            database = {"DISPATCHER_DATABASE_URL": url}

            def cleanup() -> None:
                _sync(_drop_database(server_url, url))

        case _:
            redis_url = request.getfixturevalue("redis_url")
            prefix = f"dapp-hostile-{uuid.uuid4().hex[:12]}"
            database = {"DISPATCHER_DATABASE_URL": redis_url, "DISPATCHER_REDIS_PREFIX": prefix}

            def cleanup() -> None:
                _sync(_delete_prefix(redis_url, prefix))

    port = free_port()
    try:
        with (
            running_servers(tmp_path, [(port, clean_environment(**SECRETS, **database))]),
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client,
        ):
            yield client
    finally:
        if cleanup is not None:
            cleanup()


def test_hostile_webhooks_are_rejected_alone_and_change_nothing(served: httpx.Client) -> None:
    fuzzer = Fuzzer(served, SECRETS["WHATSAPP_APP_SECRET"], ADMIN)
    fuzzer.run_planned(EXAMPLES)
    found = fuzzer.stored()
    assert found == fuzzer.must_store
    assert not fuzzer.must_not_store & found.keys()
    fuzzer.run_free(EXAMPLES)
    assert len(fuzzer.stored()) == len(fuzzer.must_store) + fuzzer.free_accepted
    assert fuzzer.server_errors == 0
