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
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from redis.asyncio import Redis

from dispatcher_adapters.redis import delete_prefix
from dispatcher_adapters.sql import upgrade
from dispatcher_app.testing import signed_webhook_headers

from .conftest import _plain, clean_environment, free_port, running_servers
from .hostile import Plan, build_body, free_bodies, plans

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


def post(client: httpx.Client, body: bytes) -> httpx.Response:
    headers = signed_webhook_headers(body, SECRETS["WHATSAPP_APP_SECRET"])
    return client.post("/webhooks/whatsapp", content=body, headers=headers)


def stored(client: httpx.Client) -> dict[str, str | None]:
    """Every stored message (external id -> text), through the admin routes, which must all answer 200."""
    found: dict[str, str | None] = {}
    offset = 0
    while True:
        page = client.get("/admin/conversations", params={"limit": 500, "offset": offset}, headers=ADMIN)
        assert page.status_code == 200, page.text
        conversations = page.json()["conversations"]
        for conversation in conversations:
            detail = client.get(f"/admin/conversations/{conversation['id']}", headers=ADMIN)
            assert detail.status_code == 200, detail.text
            for message in detail.json()["messages"]:
                assert message["external_id"] not in found
                found[message["external_id"]] = message["text"]
        if len(conversations) < 500:
            return found
        offset += 500


def run_planned(client: httpx.Client, examples: int) -> tuple[int, dict[str, str | None], set[str]]:
    """``examples`` planned bodies: each answered 200 with exact counts. Returns (bodies, must store, must not)."""
    must_store: dict[str, str | None] = {}
    must_not: set[str] = set()
    sent = 0

    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(plan=plans)
    def one(plan: Plan) -> None:
        nonlocal sent
        built = build_body(plan)
        response = post(client, built.body)
        sent += 1
        assert response.status_code == 200, response.text
        counts = response.json()
        assert counts["accepted"] == len(built.must_store), (plan, counts)
        assert counts["invalid"] == len(built.must_not_store), (plan, counts)
        assert counts["duplicates"] == 0
        must_store.update({key: text or None for key, text in built.must_store.items()})
        must_not.update(built.must_not_store)

    one()
    return sent, must_store, must_not


def run_free(client: httpx.Client, examples: int) -> tuple[int, int]:
    """``examples`` shapeless bodies: never a 5xx. Returns (bodies, messages answered accepted)."""
    accepted = sent = 0

    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(body=free_bodies)
    def one(body: Any) -> None:
        nonlocal accepted, sent
        response = post(client, json.dumps(body).encode())
        sent += 1
        assert response.status_code < 500, response.text
        if response.status_code == 200:
            accepted += response.json()["accepted"]

    one()
    return sent, accepted


def test_hostile_webhooks_are_rejected_alone_and_change_nothing(served: httpx.Client) -> None:
    _, must_store, must_not = run_planned(served, EXAMPLES)
    found = stored(served)
    assert found == must_store
    assert not must_not & found.keys()
    _, accepted = run_free(served, EXAMPLES)
    assert len(stored(served)) == len(must_store) + accepted
