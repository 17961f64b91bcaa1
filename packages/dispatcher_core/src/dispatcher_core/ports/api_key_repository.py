"""Where the public API's keys are kept (hashed: see :mod:`dispatcher_core.entities.api_key`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from dispatcher_core.entities.api_key import ApiKey

__all__ = ["ApiKeyRepository"]


class ApiKeyRepository(Protocol):
    async def add(self, key: ApiKey) -> bool:
        """Store ``key``. ``False``, and nothing changed, when a key with the same ``id`` or the same
        ``key_hash`` is already stored (two concurrent adds of one of them: exactly one gets ``True``)."""
        ...

    async def get(self, key_id: str) -> ApiKey | None:
        """The key with this id, revoked or not; ``None`` if there is none."""
        ...

    async def find_by_hash(self, key_hash: str) -> ApiKey | None:
        """The key whose hash is ``key_hash``, revoked or not (the caller checks ``active``); ``None`` if
        there is none. This is the lookup of every authenticated API request: it must not scan."""
        ...

    async def list(self) -> Sequence[ApiKey]:
        """Every key, revoked ones included, oldest first (ties by id)."""
        ...

    async def revoke(self, key_id: str, at: datetime) -> ApiKey | None:
        """Mark the key revoked at ``at`` and return it; ``None`` if there is no such key. Revoking a revoked
        key changes nothing (it keeps its first revocation time). A revoked key is never active again."""
        ...
