"""The SQL media index passes the MediaIndex conformance suite, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from dispatcher_adapters.sql import SqlStore
from dispatcher_adapters.sql.media import SqlMediaIndex
from dispatcher_core.testing.conformance import MediaIndexConformance


class TestSqliteMediaIndex(MediaIndexConformance):
    @pytest.fixture
    async def media_index(self, sqlite_store: SqlStore) -> SqlMediaIndex:
        return sqlite_store.media_index()


@pytest.mark.postgres
class TestPostgresMediaIndex(MediaIndexConformance):
    @pytest.fixture
    async def media_index(self, pg_store: SqlStore) -> SqlMediaIndex:
        return pg_store.media_index()
