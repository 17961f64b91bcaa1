"""The SQL store passes every port's conformance suite, on SQLite and on PostgreSQL, each test in a database
of its own (a fresh SQLite file; a fresh PostgreSQL database copied from a migrated template)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from dispatcher_adapters.sql import SqlPurge, SqlStore, SqlThroughput
from dispatcher_core.ports import ConversationPurge, ThroughputReservations, UnitOfWorkFactory
from dispatcher_core.testing.conformance import (
    ConversationPurgeConformance,
    StoreConformance,
    ThroughputReservationsConformance,
)


class TestSqliteStore(StoreConformance):
    @pytest.fixture
    async def uow_factory(self, sqlite_store: SqlStore) -> UnitOfWorkFactory:
        return sqlite_store.unit_of_work


class TestSqliteInMemoryStore(StoreConformance):
    """``sqlite:///:memory:`` shares one connection between units of work; the store's lock makes that safe."""

    @pytest.fixture
    async def uow_factory(self) -> AsyncIterator[UnitOfWorkFactory]:
        store = await SqlStore.create("sqlite+aiosqlite:///:memory:")
        yield store.unit_of_work
        await store.close()


@pytest.mark.postgres
class TestPostgresStore(StoreConformance):
    @pytest.fixture
    async def uow_factory(self, pg_store: SqlStore) -> UnitOfWorkFactory:
        return pg_store.unit_of_work


class TestSqliteThroughput(ThroughputReservationsConformance):
    @pytest.fixture
    def reservations(self, sqlite_store: SqlStore) -> Callable[[], ThroughputReservations]:
        return lambda: SqlThroughput(sqlite_store)


@pytest.mark.postgres
class TestPostgresThroughput(ThroughputReservationsConformance):
    @pytest.fixture
    def reservations(self, pg_store: SqlStore) -> Callable[[], ThroughputReservations]:
        return lambda: SqlThroughput(pg_store)


class TestSqlitePurge(ConversationPurgeConformance):
    @pytest.fixture
    def uow_factory(self, sqlite_store: SqlStore) -> UnitOfWorkFactory:
        return sqlite_store.unit_of_work

    @pytest.fixture
    def purge(self, sqlite_store: SqlStore) -> ConversationPurge:
        return SqlPurge(sqlite_store)


@pytest.mark.postgres
class TestPostgresPurge(ConversationPurgeConformance):
    @pytest.fixture
    def uow_factory(self, pg_store: SqlStore) -> UnitOfWorkFactory:
        return pg_store.unit_of_work

    @pytest.fixture
    def purge(self, pg_store: SqlStore) -> ConversationPurge:
        return SqlPurge(pg_store)
