"""The orchestrator on the SQL store keeps I1-I8 under random sequences of everything that can happen: the
core's hypothesis state machine, on a fresh SQLite file per example and on a PostgreSQL database of its own
(emptied between examples with ``TRUNCATE``)."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from dispatcher_adapters.sql import SqlStore
from dispatcher_adapters.sql.tables import metadata
from dispatcher_core.ports import UnitOfWorkFactory
from dispatcher_core.testing.state_machine import dispatcher_state_machine

_SQLITE_SETTINGS = settings(
    max_examples=30, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
_POSTGRES_SETTINGS = settings(
    max_examples=25, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@asynccontextmanager
async def fresh_sqlite_store() -> AsyncIterator[UnitOfWorkFactory]:
    with tempfile.TemporaryDirectory(prefix="dispatcher-sm-") as directory:
        store = await SqlStore.create(f"sqlite+aiosqlite:///{Path(directory) / 'store.sqlite3'}")
        try:
            yield store.unit_of_work
        finally:
            await store.close()


def emptied_postgres_store(url: str) -> AbstractAsyncContextManager[UnitOfWorkFactory]:
    @asynccontextmanager
    async def factory() -> AsyncIterator[UnitOfWorkFactory]:
        store = await SqlStore.create(url)
        try:
            tables = ", ".join(table.name for table in metadata.sorted_tables)
            async with store.engine.begin() as conn:
                await conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY"))
            yield store.unit_of_work
        finally:
            await store.close()

    return factory()


@pytest.mark.parametrize("capacity", [0, 2])
def test_state_machine_on_sqlite(capacity: int) -> None:
    machine = dispatcher_state_machine(fresh_sqlite_store, capacity=capacity)
    run_state_machine_as_test(machine, settings=_SQLITE_SETTINGS)


@pytest.mark.postgres
@pytest.mark.parametrize("capacity", [0, 2])
def test_state_machine_on_postgres(pg_database: str, capacity: int) -> None:
    machine = dispatcher_state_machine(lambda: emptied_postgres_store(pg_database), capacity=capacity)
    run_state_machine_as_test(machine, settings=_POSTGRES_SETTINGS)
