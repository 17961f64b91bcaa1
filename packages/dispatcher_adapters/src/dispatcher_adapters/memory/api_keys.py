"""The API keys in memory (one process; the reference of the conformance suite)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from dispatcher_core.entities.api_key import ApiKey

__all__ = ["MemoryApiKeys"]


class MemoryApiKeys:
    """Implements :class:`~dispatcher_core.ports.ApiKeyRepository`."""

    def __init__(self) -> None:
        self._keys: dict[str, ApiKey] = {}
        self._by_hash: dict[str, str] = {}

    async def add(self, key: ApiKey) -> bool:
        if key.id in self._keys or key.key_hash in self._by_hash:
            return False
        self._keys[key.id] = key
        self._by_hash[key.key_hash] = key.id
        return True

    async def get(self, key_id: str) -> ApiKey | None:
        return self._keys.get(key_id)

    async def find_by_hash(self, key_hash: str) -> ApiKey | None:
        key_id = self._by_hash.get(key_hash)
        return None if key_id is None else self._keys[key_id]

    async def list(self) -> Sequence[ApiKey]:
        return sorted(self._keys.values(), key=lambda key: (key.created_at, key.id))

    async def revoke(self, key_id: str, at: datetime) -> ApiKey | None:
        key = self._keys.get(key_id)
        if key is None:
            return None
        self._keys[key_id] = revoked = key.revoke(at)
        return revoked
