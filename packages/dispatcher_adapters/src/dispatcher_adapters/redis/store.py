"""The Redis store: every port of the core behind one optimistic unit of work.

``RedisStore(client, prefix=...).unit_of_work`` is a :class:`~dispatcher_core.ports.UnitOfWorkFactory`.
The caller owns the client (created and closed in the app's lifespan; ``decode_responses=True`` is
required); the store only registers its scripts on it, which does no I/O.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from redis.asyncio import Redis

from dispatcher_adapters.redis.keys import RedisKeys
from dispatcher_adapters.redis.scripts import Scripts
from dispatcher_adapters.redis.session import KnownDuplicates, StoreContext, require_decoded_responses
from dispatcher_adapters.redis.unit_of_work import RedisUnitOfWork
from dispatcher_core.errors import InvalidInput

__all__ = ["RedisStore"]


class RedisStore:
    def __init__(
        self,
        client: Redis,
        *,
        prefix: str = "dispatcher",
        slot_ttl: timedelta = timedelta(days=7),
        claim_ttl: timedelta = timedelta(seconds=30),
        commit_attempts: int = 3,
        known_duplicates: int = 100_000,
        prefetch_queue: int = 8,
        prefetch_loads: bool = False,
        dedup: Literal["check", "at_commit"] = "check",
    ) -> None:
        """``prefix`` namespaces every key (one tenant per prefix); ``slot_ttl`` is how long a scheduled slot
        stays claimed; ``claim_ttl`` bounds how long an uncommitted claim blocks other claimers if its process
        dies; ``commit_attempts`` is how many times a commit is sent when the connection fails on the way;
        ``known_duplicates`` is how many stored message keys each process remembers. The read of an incoming
        message brings along the first ``prefetch_queue`` agents of the queue, and the agents' loads when
        ``prefetch_loads`` (set it when ``AssignmentService.needs_loads`` is true: only then are loads read).

        ``dedup`` says when ``add_message`` looks for a duplicate. ``"check"``: at the call (one round trip),
        so it returns ``False`` for any stored duplicate, as the port says. ``"at_commit"``: only messages this
        process stored (or saw conflict) are answered ``False`` at the call; a duplicate stored by another
        process is caught by the commit script, which raises ``ConcurrencyConflict``, and the retried cycle
        then gets ``False``. One round trip fewer per message, for the orchestrator, which retries conflicts
        anyway. Either way the commit is what enforces I2."""
        require_decoded_responses(client, "RedisStore")
        if slot_ttl <= timedelta(0) or claim_ttl <= timedelta(0):
            raise InvalidInput("slot_ttl and claim_ttl must be positive")
        if commit_attempts < 1 or known_duplicates < 0 or prefetch_queue < 1:
            raise InvalidInput("commit_attempts and prefetch_queue must be >= 1, known_duplicates >= 0")
        if dedup not in ("check", "at_commit"):
            raise InvalidInput(f"dedup must be 'check' or 'at_commit', not {dedup!r}")
        self.keys = RedisKeys(prefix)
        self._ctx = StoreContext(
            client=client,
            keys=self.keys,
            scripts=Scripts.register(client),
            known_duplicates=KnownDuplicates(known_duplicates),
            slot_ttl=slot_ttl,
            dedup=dedup,
            prefetch_queue=prefetch_queue,
            prefetch_loads=prefetch_loads,
            claim_ttl=claim_ttl,
            commit_attempts=commit_attempts,
            token_ttl=60,
        )

    @property
    def prefetch_loads(self) -> bool:
        """Whether the read of an incoming message brings the agents' loads along."""
        return self._ctx.prefetch_loads

    def unit_of_work(self) -> RedisUnitOfWork:
        return RedisUnitOfWork(self._ctx)

    @property
    def context(self) -> StoreContext:
        """What the store's units of work share (for adapters beside it: retention)."""
        return self._ctx
