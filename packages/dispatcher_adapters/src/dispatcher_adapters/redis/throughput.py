"""Throughput reservations shared by every instance, on Redis (:class:`~dispatcher_core.ports.ThroughputReservations`).

One string per phone number, ``<prefix>:throughput:<number>``: the next free send slot in microseconds since the
epoch. ``RESERVE`` takes ``max(next, now)`` and moves it one interval on, atomically, in one round trip; the key
expires a second after its last slot, so quiet numbers leave nothing behind.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from redis.asyncio import Redis

from dispatcher_adapters.redis.codec import micros
from dispatcher_adapters.redis.errors import guarded
from dispatcher_adapters.redis.session import require_decoded_responses

__all__ = ["RedisThroughput"]

RESERVE = """
-- KEYS[1]: the number's next free slot. ARGV: now, interval (microseconds). Returns the wait in microseconds.
local now, interval = tonumber(ARGV[1]), tonumber(ARGV[2])
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
if slot < now then slot = now end
local expire_ms = math.floor((slot + interval - now) / 1000) + 1000
redis.call('SET', KEYS[1], string.format('%d', slot + interval), 'PX', expire_ms)
return string.format('%d', slot - now)
"""


class RedisThroughput:
    def __init__(self, client: Redis, *, prefix: str = "dispatcher") -> None:
        require_decoded_responses(client, "RedisThroughput")
        self._prefix = prefix
        self._reserve = client.register_script(RESERVE)

    async def reserve(self, key: str, interval: timedelta, now: datetime) -> timedelta:
        step = max(1, interval // timedelta(microseconds=1))
        wait = await guarded(self._reserve(keys=[f"{self._prefix}:throughput:{key}"], args=[micros(now), step]))
        return timedelta(microseconds=int(wait))
