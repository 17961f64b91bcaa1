"""The in-memory template catalogue passes the TemplateCatalogue conformance suite."""

from __future__ import annotations

import pytest

from dispatcher_adapters.memory import MemoryTemplateCatalogue
from dispatcher_core.testing.conformance import TemplateCatalogueConformance


class TestMemoryTemplateCatalogue(TemplateCatalogueConformance):
    @pytest.fixture
    async def catalogue(self) -> MemoryTemplateCatalogue:
        return MemoryTemplateCatalogue()
