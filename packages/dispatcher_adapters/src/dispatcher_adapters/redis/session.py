"""What a unit of work shares between its repositories: the store's context, and what it has read.

Reads go straight to Redis and are remembered here; the repositories remember their own staged writes.
Some reads come in ahead of need (the snapshot of an incoming message brings the queue and the loads): a
prefetched value only becomes a precondition of the commit once a repository hands it to the caller.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from redis.asyncio import Redis

from dispatcher_adapters.redis.keys import RedisKeys
from dispatcher_adapters.redis.scripts import Scripts
from dispatcher_core.entities import AgentPresence
from dispatcher_core.errors import InvalidInput

__all__ = ["KnownDuplicates", "Prefetched", "Session", "StoreContext", "require_decoded_responses"]


def require_decoded_responses(client: Redis, user: str) -> None:
    """The adapters read strings: refuse, clearly, a client that would hand them bytes."""
    if not client.connection_pool.connection_kwargs.get("decode_responses", False):
        raise InvalidInput(f"{user} needs a Redis client created with decode_responses=True")


class KnownDuplicates:
    """Message keys known to be stored. Stored keys are never removed, so a process may remember them and
    answer "duplicate" without a round trip; bounded, least recently seen forgotten first."""

    __slots__ = ("_keys", "_size")

    def __init__(self, size: int) -> None:
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def __contains__(self, key: str) -> bool:
        if key in self._keys:
            self._keys.move_to_end(key)
            return True
        return False

    def add(self, key: str) -> None:
        self._keys[key] = None
        self._keys.move_to_end(key)
        while len(self._keys) > self._size:
            self._keys.popitem(last=False)


@dataclass(frozen=True, slots=True)
class StoreContext:
    """Shared by every unit of work of one store."""

    client: Redis
    keys: RedisKeys
    scripts: Scripts
    known_duplicates: KnownDuplicates
    slot_ttl: timedelta
    dedup: Literal["check", "at_commit"]
    prefetch_queue: int
    prefetch_loads: bool
    claim_ttl: timedelta
    commit_attempts: int
    token_ttl: int


@dataclass(slots=True)
class Prefetched:
    """The head of the queue and the loads as the snapshot script read them, with their versions."""

    queue: list[str] | None = None
    queue_version: str = "0"
    queue_complete: bool = False
    loads: Mapping[str, int] | None = None
    loads_version: str = "0"


@dataclass(slots=True)
class Session:
    ctx: StoreContext
    prefetched: Prefetched = field(default_factory=Prefetched)
    #: presences read from Redis (``None``: absent), filled by the presence repository and the snapshot
    presence_read: dict[str, AgentPresence | None] = field(default_factory=dict)
    #: conversations created in this unit of work: Redis holds nothing of theirs (else commit conflicts)
    new_conversations: set[str] = field(default_factory=set)
