"""The approved-template catalogue in memory (one process; the reference of the conformance suite)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from dispatcher_core.messaging.catalogue import TemplateDefinition

__all__ = ["MemoryTemplateCatalogue"]


class MemoryTemplateCatalogue:
    """Implements :class:`~dispatcher_core.ports.TemplateCatalogue`. Each method runs without awaiting, so
    it is atomic with respect to the other tasks of the event loop."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], TemplateDefinition] = {}

    async def replace_all(self, templates: Sequence[TemplateDefinition]) -> None:
        self._entries = {(template.name, template.language): template for template in templates}

    async def upsert(self, template: TemplateDefinition) -> None:
        self._entries[template.name, template.language] = template

    async def set_status(self, name: str, language: str, status: str, at: datetime) -> bool:
        entry = self._entries.get((name, language))
        if entry is None or entry.updated_at > at:
            return False
        self._entries[name, language] = entry.with_status(status, at)
        return True

    async def get(self, name: str, language: str) -> TemplateDefinition | None:
        return self._entries.get((name, language))

    async def list(self) -> list[TemplateDefinition]:
        return [self._entries[key] for key in sorted(self._entries)]
