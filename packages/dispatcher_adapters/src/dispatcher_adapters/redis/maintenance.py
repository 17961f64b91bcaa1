"""Operations on a whole prefix: used by tests to clean up after themselves, and by operators to remove a
tenant. Never FLUSHDB: other tenants may share the server."""

from __future__ import annotations

import redis.exceptions as redis_errors
from redis.asyncio import Redis

from dispatcher_adapters.redis.errors import translate
from dispatcher_adapters.redis.keys import RedisKeys

__all__ = ["delete_prefix"]

_GLOB_SPECIAL = "\\*?[]"


def _escape_glob(text: str) -> str:
    return "".join("\\" + ch if ch in _GLOB_SPECIAL else ch for ch in text)


async def delete_prefix(client: Redis, prefix: str) -> int:
    """Delete every key under ``prefix`` (``<prefix>:*``); returns how many were deleted."""
    pattern = _escape_glob(RedisKeys(prefix).prefix) + ":*"
    deleted = 0
    batch: list[str] = []
    try:
        async for key in client.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) >= 500:
                deleted += await client.unlink(*batch)
                batch.clear()
        if batch:
            deleted += await client.unlink(*batch)
    except (redis_errors.RedisError, OSError) as exc:
        raise translate(exc) from exc
    return deleted
