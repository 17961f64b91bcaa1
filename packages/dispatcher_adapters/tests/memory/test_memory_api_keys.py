"""The in-memory API keys pass the ApiKeyRepository conformance suite."""

from __future__ import annotations

import pytest

from dispatcher_adapters.memory import MemoryApiKeys
from dispatcher_core.testing.conformance import ApiKeyRepositoryConformance


class TestMemoryApiKeys(ApiKeyRepositoryConformance):
    @pytest.fixture
    async def api_keys(self) -> MemoryApiKeys:
        return MemoryApiKeys()
