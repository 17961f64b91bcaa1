"""The SQL API keys pass the ApiKeyRepository conformance suite, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from dispatcher_adapters.sql import SqlStore
from dispatcher_adapters.sql.api_keys import SqlApiKeys
from dispatcher_core.testing.conformance import ApiKeyRepositoryConformance


class TestSqliteApiKeys(ApiKeyRepositoryConformance):
    @pytest.fixture
    async def api_keys(self, sqlite_store: SqlStore) -> SqlApiKeys:
        return sqlite_store.api_keys()


@pytest.mark.postgres
class TestPostgresApiKeys(ApiKeyRepositoryConformance):
    @pytest.fixture
    async def api_keys(self, pg_store: SqlStore) -> SqlApiKeys:
        return pg_store.api_keys()
