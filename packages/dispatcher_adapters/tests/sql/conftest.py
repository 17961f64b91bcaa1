"""Fixtures of the SQL adapter tests: a fresh SQLite file or a fresh PostgreSQL database per test.

PostgreSQL: one migrated template database per session (uniquely named, since other test runs share the
server); each test gets ``CREATE DATABASE ... TEMPLATE`` of it (about 80 ms) and drops it afterwards with
``WITH (FORCE)``, template included, so nothing is left on the server.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
import pytest
from sqlalchemy.engine import make_url

from dispatcher_adapters.sql import SqlStore, upgrade

NewDatabase = Callable[[], Awaitable[str]]


def _with_database(server_url: str, name: str) -> str:
    return make_url(server_url).set(drivername="postgresql+asyncpg", database=name).render_as_string(False)


def _plain(url: str) -> str:
    """The same URL for asyncpg itself (no ``+asyncpg``)."""
    return make_url(url).set(drivername="postgresql").render_as_string(False)


async def _admin(server_url: str, *statements: str) -> None:
    conn = await asyncpg.connect(_plain(server_url))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def run_admin(server_url: str, *statements: str) -> None:
    """Run ``CREATE/DROP DATABASE`` statements (they cannot run in a transaction) from a sync fixture."""
    asyncio.run(_admin(server_url, *statements))


@pytest.fixture(scope="session")
def pg_template(postgres_url: str) -> Iterator[str]:
    """The name of a migrated, empty database that tests copy."""
    name = f"dsql_template_{uuid.uuid4().hex[:10]}"
    run_admin(postgres_url, f'CREATE DATABASE "{name}"')
    try:
        asyncio.run(upgrade(_with_database(postgres_url, name)))
        yield name
    finally:
        run_admin(postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def new_pg_database(postgres_url: str, pg_template: str) -> Iterator[NewDatabase]:
    """Await it to get the URL of a new database at the head revision; all are dropped after the test."""
    created: list[str] = []

    async def make() -> str:
        name = f"dsql_test_{uuid.uuid4().hex[:12]}"
        await _admin(postgres_url, f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
        created.append(name)
        return _with_database(postgres_url, name)

    yield make
    run_admin(postgres_url, *(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in created))


@pytest.fixture
def pg_database(postgres_url: str, pg_template: str) -> Iterator[str]:
    """The URL of one new database at the head revision, for a synchronous test; dropped afterwards."""
    name = f"dsql_test_{uuid.uuid4().hex[:12]}"
    run_admin(postgres_url, f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    yield _with_database(postgres_url, name)
    run_admin(postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def empty_pg_database(postgres_url: str) -> Iterator[str]:
    """The URL of a new database with no tables at all (for migration tests)."""
    name = f"dsql_empty_{uuid.uuid4().hex[:12]}"
    run_admin(postgres_url, f'CREATE DATABASE "{name}"')
    yield _with_database(postgres_url, name)
    run_admin(postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/dispatcher.sqlite3"


@pytest.fixture
async def pg_store(new_pg_database: NewDatabase) -> AsyncIterator[SqlStore]:
    store = await SqlStore.create(await new_pg_database())
    yield store
    await store.close()


@pytest.fixture
async def sqlite_store(sqlite_url: str) -> AsyncIterator[SqlStore]:
    store = await SqlStore.create(sqlite_url)
    yield store
    await store.close()
