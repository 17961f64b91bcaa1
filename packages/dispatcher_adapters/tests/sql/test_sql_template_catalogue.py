"""The SQL template catalogue passes the TemplateCatalogue conformance suite, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from dispatcher_adapters.sql import SqlStore
from dispatcher_adapters.sql.templates import SqlTemplateCatalogue
from dispatcher_core.testing.conformance import TemplateCatalogueConformance


class TestSqliteTemplateCatalogue(TemplateCatalogueConformance):
    @pytest.fixture
    async def catalogue(self, sqlite_store: SqlStore) -> SqlTemplateCatalogue:
        return sqlite_store.template_catalogue()


@pytest.mark.postgres
class TestPostgresTemplateCatalogue(TemplateCatalogueConformance):
    @pytest.fixture
    async def catalogue(self, pg_store: SqlStore) -> SqlTemplateCatalogue:
        return pg_store.template_catalogue()
