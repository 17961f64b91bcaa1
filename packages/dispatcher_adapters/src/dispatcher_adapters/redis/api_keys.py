"""The API keys on Redis: three hashes under the store's prefix.

* ``<prefix>:api-keys`` - key id -> the key's JSON document (name, scope, hash, hint, creation time);
* ``<prefix>:api-key-hashes`` - SHA-256 of a key -> key id (the lookup of every API request);
* ``<prefix>:api-keys-revoked`` - key id -> revocation time (``HSETNX``: the first revocation wins).

``add`` is one Lua script (both uniqueness checks, then both writes), so concurrent adds have one winner.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import redis.exceptions as redis_errors
from redis.asyncio import Redis

from dispatcher_adapters.redis.errors import translate
from dispatcher_adapters.redis.session import require_decoded_responses
from dispatcher_core.entities.api_key import ApiKey, ApiKeyScope

__all__ = ["RedisApiKeys"]

T = TypeVar("T")

#: KEYS[1] documents, KEYS[2] hashes; ARGV id, key hash, document. 1 when added, 0 when the id or hash exists.
_ADD = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 or redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
return 1
"""


def _encode(key: ApiKey) -> str:
    document = {
        "n": key.name,
        "s": key.scope.value,
        "h": key.key_hash,
        "i": key.hint,
        "c": key.created_at.isoformat(),
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def _decode(key_id: str, raw: str, revoked: str | None) -> ApiKey:
    document = json.loads(raw)
    return ApiKey(
        id=key_id,
        name=document["n"],
        scope=ApiKeyScope(document["s"]),
        key_hash=document["h"],
        hint=document["i"],
        created_at=datetime.fromisoformat(document["c"]),
        revoked_at=None if revoked is None else datetime.fromisoformat(revoked),
    )


class RedisApiKeys:
    """Implements :class:`~dispatcher_core.ports.ApiKeyRepository`. The caller owns the client
    (``decode_responses=True``)."""

    def __init__(self, client: Redis, *, prefix: str = "dispatcher") -> None:
        require_decoded_responses(client, "RedisApiKeys")
        self._client = client
        self._documents = f"{prefix}:api-keys"
        self._hashes = f"{prefix}:api-key-hashes"
        self._revoked = f"{prefix}:api-keys-revoked"
        self._add = client.register_script(_ADD)

    async def _run(self, call: Callable[[], Awaitable[T]]) -> T:
        try:
            return await call()
        except (redis_errors.RedisError, OSError) as exc:
            raise translate(exc) from exc

    async def add(self, key: ApiKey) -> bool:
        async def write() -> Any:
            return await self._add(keys=[self._documents, self._hashes], args=[key.id, key.key_hash, _encode(key)])

        return bool(await self._run(write))

    async def get(self, key_id: str) -> ApiKey | None:
        async def read() -> list[Any]:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.hget(self._documents, key_id)
                pipe.hget(self._revoked, key_id)
                return list(await pipe.execute())

        raw, revoked = await self._run(read)
        return None if raw is None else _decode(key_id, raw, revoked)

    async def find_by_hash(self, key_hash: str) -> ApiKey | None:
        key_id = await self._run(lambda: self._client.hget(self._hashes, key_hash))
        return None if key_id is None else await self.get(str(key_id))

    async def list(self) -> Sequence[ApiKey]:
        async def read() -> list[Any]:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.hgetall(self._documents)
                pipe.hgetall(self._revoked)
                return list(await pipe.execute())

        documents, revoked = await self._run(read)
        keys = [_decode(key_id, raw, revoked.get(key_id)) for key_id, raw in documents.items()]
        return sorted(keys, key=lambda key: (key.created_at, key.id))

    async def revoke(self, key_id: str, at: datetime) -> ApiKey | None:
        # Keys are never deleted: once the id exists, recording its revocation cannot race with anything.
        if not await self._run(lambda: self._client.hexists(self._documents, key_id)):
            return None
        await self._run(lambda: self._client.hsetnx(self._revoked, key_id, at.isoformat()))
        return await self.get(key_id)
