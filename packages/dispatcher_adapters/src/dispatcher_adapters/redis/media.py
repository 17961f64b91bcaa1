"""The media index on Redis: a hash ``<prefix>:media``, media id -> JSON, where ``HSETNX`` makes the first
record win across instances; and a sorted set ``<prefix>:media-received``, media ids scored by reception time
(Unix seconds), for :meth:`RedisMediaIndex.purge`."""

from __future__ import annotations

import json
from datetime import datetime

import redis.exceptions as redis_errors
from redis.asyncio import Redis

from dispatcher_adapters.redis.errors import translate
from dispatcher_adapters.redis.session import require_decoded_responses
from dispatcher_core.messaging.media import InboundMedia

__all__ = ["RedisMediaIndex"]


def _encode(media: InboundMedia) -> str:
    document = {
        "b": media.business_number_id,
        "c": media.customer_id,
        "e": media.external_id,
        "k": media.kind,
        "t": media.received_at.isoformat(),
        "m": media.mime_type,
        "s": media.sha256,
        "p": media.caption,
        "f": media.filename,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def _decode(media_id: str, raw: str) -> InboundMedia:
    document = json.loads(raw)
    return InboundMedia(
        media_id=media_id,
        business_number_id=document["b"],
        customer_id=document["c"],
        external_id=document["e"],
        kind=document["k"],
        received_at=datetime.fromisoformat(document["t"]),
        mime_type=document["m"],
        sha256=document["s"],
        caption=document["p"],
        filename=document["f"],
    )


class RedisMediaIndex:
    """Implements :class:`~dispatcher_core.ports.MediaIndex`. The caller owns the client
    (``decode_responses=True``)."""

    def __init__(self, client: Redis, *, prefix: str = "dispatcher") -> None:
        require_decoded_responses(client, "RedisMediaIndex")
        self._client = client
        self._key = f"{prefix}:media"
        self._received = f"{prefix}:media-received"

    async def record(self, media: InboundMedia) -> bool:
        try:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.hsetnx(self._key, media.media_id, _encode(media))
                # NX: a later duplicate keeps the first record's time, as the hash keeps its record.
                pipe.zadd(self._received, {media.media_id: media.received_at.timestamp()}, nx=True)
                recorded, _ = await pipe.execute()
        except (redis_errors.RedisError, OSError) as exc:
            raise translate(exc) from exc
        return bool(recorded)

    async def purge(self, received_before: datetime) -> int:
        try:
            old = await self._client.zrangebyscore(self._received, "-inf", f"({received_before.timestamp()}")
            if not old:
                return 0
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.hdel(self._key, *old)
                pipe.zrem(self._received, *old)
                deleted, _ = await pipe.execute()
        except (redis_errors.RedisError, OSError) as exc:
            raise translate(exc) from exc
        return int(deleted)

    async def get(self, media_id: str) -> InboundMedia | None:
        try:
            raw = await self._client.hget(self._key, media_id)
        except (redis_errors.RedisError, OSError) as exc:
            raise translate(exc) from exc
        if raw is None:
            return None
        return _decode(media_id, raw if isinstance(raw, str) else raw.decode())  # decode_responses: always a str
