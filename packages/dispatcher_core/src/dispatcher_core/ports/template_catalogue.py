"""The approved-template catalogue: Meta's templates as last synced, kept in the store.

Written by the template sync (``GET /{waba-id}/message_templates``, at start and on a schedule) and by
``message_template_status_update`` webhooks; read before every template send. Several instances share it
through the store, so a webhook that lands on one instance is seen by all.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from dispatcher_core.messaging.catalogue import TemplateDefinition

__all__ = ["TemplateCatalogue"]


class TemplateCatalogue(Protocol):
    async def replace_all(self, templates: Sequence[TemplateDefinition]) -> None:
        """Make the catalogue exactly ``templates`` (a full sync): entries not in it are removed. Atomic: a
        concurrent reader sees the old catalogue or the new one, never a mix. Two entries with the same
        (name, language): the last one wins."""
        ...

    async def upsert(self, template: TemplateDefinition) -> None:
        """Add ``template`` or replace the entry with its (name, language)."""
        ...

    async def set_status(self, name: str, language: str, status: str, at: datetime) -> bool:
        """Set the status of (``name``, ``language``) and its ``updated_at`` to ``at`` (a status webhook).
        ``False``, changing nothing, when the catalogue has no such entry (the next sync brings it) or when
        the entry was updated after ``at`` already (webhooks arrive late and out of order)."""
        ...

    async def get(self, name: str, language: str) -> TemplateDefinition | None:
        """The entry of (``name``, ``language``), or ``None``."""
        ...

    async def list(self) -> list[TemplateDefinition]:
        """Every entry, sorted by name then language."""
        ...
