"""The in-memory media index passes the MediaIndex conformance suite."""

from __future__ import annotations

import pytest

from dispatcher_adapters.memory import MemoryMediaIndex
from dispatcher_core.testing.conformance import MediaIndexConformance


class TestMemoryMediaIndex(MediaIndexConformance):
    @pytest.fixture
    async def media_index(self) -> MemoryMediaIndex:
        return MemoryMediaIndex()
