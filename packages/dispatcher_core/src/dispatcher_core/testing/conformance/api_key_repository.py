"""Conformance suite of :class:`~dispatcher_core.ports.ApiKeyRepository`.

Subclass :class:`ApiKeyRepositoryConformance` and provide an async ``api_keys`` fixture returning an empty
repository.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from dispatcher_core.entities.api_key import ApiKey, ApiKeyScope, hash_api_key, new_api_key
from dispatcher_core.ports.api_key_repository import ApiKeyRepository
from dispatcher_core.testing.conformance._support import ConformanceSuite

__all__ = ["ApiKeyRepositoryConformance"]

T0 = datetime(2026, 12, 5, 9, 0, 0, 123456, tzinfo=UTC)


def _key(name: str = "order backend", scope: ApiKeyScope = ApiKeyScope.SEND, minute: int = 0) -> tuple[str, ApiKey]:
    return new_api_key(name, scope, T0 + timedelta(minutes=minute))


class ApiKeyRepositoryConformance(ConformanceSuite):
    """The API key store (``ApiKeyRepository``): a key comes back whole by id and by hash, ids and hashes are
    unique (one winner among concurrent adds), the list is oldest first, and revocation is final and keeps its
    first time. Needs an ``api_keys`` fixture."""

    async def test_an_unknown_key(self, api_keys: ApiKeyRepository) -> None:
        assert await api_keys.get("key_nope") is None
        assert await api_keys.find_by_hash(hash_api_key("dsp_nope")) is None
        assert await api_keys.revoke("key_nope", T0) is None
        assert list(await api_keys.list()) == []

    async def test_every_field_comes_back(self, api_keys: ApiKeyRepository) -> None:
        secret, key = _key("Commandes · backend ✓", ApiKeyScope.ADMIN)
        assert await api_keys.add(key)
        assert await api_keys.get(key.id) == key
        assert await api_keys.find_by_hash(hash_api_key(secret)) == key
        found = await api_keys.get(key.id)
        assert found is not None
        assert found.scope is ApiKeyScope.ADMIN
        assert found.active

    async def test_the_key_itself_is_not_an_id(self, api_keys: ApiKeyRepository) -> None:
        secret, key = _key()
        assert await api_keys.add(key)
        assert await api_keys.find_by_hash(secret) is None
        assert await api_keys.get(secret) is None

    async def test_ids_and_hashes_are_unique(self, api_keys: ApiKeyRepository) -> None:
        _, key = _key()
        _, other = _key("other", minute=1)
        assert await api_keys.add(key)
        assert not await api_keys.add(replace(other, id=key.id))
        assert not await api_keys.add(replace(other, key_hash=key.key_hash))
        assert list(await api_keys.list()) == [key]
        assert await api_keys.find_by_hash(key.key_hash) == key

    async def test_the_list_is_oldest_first(self, api_keys: ApiKeyRepository) -> None:
        keys = [_key(f"key {minute}", minute=minute)[1] for minute in (3, 1, 2)]
        twin = replace(_key("twin", minute=1)[1], id="key_0000000000000000")
        for key in [*keys, twin]:
            assert await api_keys.add(key)
        assert [key.name for key in await api_keys.list()] == ["twin", "key 1", "key 2", "key 3"]

    async def test_revocation_is_final_and_keeps_its_first_time(self, api_keys: ApiKeyRepository) -> None:
        secret, key = _key()
        _, kept = _key("kept", minute=1)
        assert await api_keys.add(key)
        assert await api_keys.add(kept)
        revoked = await api_keys.revoke(key.id, T0 + timedelta(hours=1))
        assert revoked == replace(key, revoked_at=T0 + timedelta(hours=1))
        assert await api_keys.revoke(key.id, T0 + timedelta(hours=2)) == revoked
        found = await api_keys.find_by_hash(hash_api_key(secret))
        assert found == revoked
        assert found is not None
        assert not found.active
        assert await api_keys.get(kept.id) == kept
        assert list(await api_keys.list()) == [revoked, kept]

    async def test_concurrent_adds_have_one_winner(self, api_keys: ApiKeyRepository) -> None:
        _, key = _key()
        copies = [replace(key, name=f"copy {index}") for index in range(8)]
        results = await asyncio.gather(*(api_keys.add(copy) for copy in copies))
        assert sorted(results) == [False] * 7 + [True]
        assert list(await api_keys.list()) == [copies[results.index(True)]]
