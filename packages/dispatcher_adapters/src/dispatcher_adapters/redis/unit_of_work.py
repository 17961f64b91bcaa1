"""The optimistic unit of work on Redis.

Reads go straight to Redis and are remembered with the versions they saw; writes are staged in memory.
``commit`` sends ONE script that checks every remembered precondition (conversation and presence versions,
the queue's and the loads' versions when they were read, the open-key index, message and pending keys,
slot claims) and applies every staged write, or changes nothing and names the failed check, which becomes
``ConcurrencyConflict`` (the orchestrator then retries its whole cycle).

A commit whose reply is lost (connection killed) is sent again with the same token: the script recognises
the token and answers "already applied", so the outcome is never ambiguous and never applied twice.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from types import TracebackType
from typing import Self

import redis.exceptions as redis_errors

from dispatcher_adapters.redis.conversations import RedisConversations
from dispatcher_adapters.redis.errors import UNAVAILABLE, translate
from dispatcher_adapters.redis.outbox import RedisOutbox
from dispatcher_adapters.redis.pending import RedisPending
from dispatcher_adapters.redis.plan import CONFLICT, DUPLICATE, OPEN, SLOT, CommitPlan
from dispatcher_adapters.redis.presence import RedisPresence
from dispatcher_adapters.redis.queue import RedisQueue
from dispatcher_adapters.redis.session import Session, StoreContext
from dispatcher_adapters.redis.slots import RedisSlotClaims
from dispatcher_core.errors import ConcurrencyConflict, ConversationAlreadyOpen, InvalidInput, StoreError
from dispatcher_core.events import DomainEvent

__all__ = ["RedisUnitOfWork"]


class PublishedAfterCommit:
    """The :class:`~dispatcher_core.ports.EventJournal` of this store: recording does nothing."""

    __slots__ = ()

    async def record(self, events: Sequence[DomainEvent]) -> None:
        return None


_PUBLISHED_AFTER_COMMIT = PublishedAfterCommit()


class RedisUnitOfWork:
    def __init__(self, ctx: StoreContext) -> None:
        self._ctx = ctx
        self._session = Session(ctx)
        self._conversations = RedisConversations(self._session)
        self._pending = RedisPending(self._session)
        self._queue = RedisQueue(self._session)
        self._presence = RedisPresence(self._session)
        self._slots = RedisSlotClaims(self._session)
        self._committed = False
        self._outbox = RedisOutbox(self._session)

    @property
    def conversations(self) -> RedisConversations:
        return self._conversations

    @property
    def pending(self) -> RedisPending:
        return self._pending

    @property
    def queue(self) -> RedisQueue:
        return self._queue

    @property
    def presence(self) -> RedisPresence:
        return self._presence

    @property
    def slots(self) -> RedisSlotClaims:
        return self._slots

    @property
    def events(self) -> PublishedAfterCommit:
        """Events travel through :class:`~dispatcher_adapters.redis.RedisEventPublisher` after the commit,
        numbered per agent in Redis: nothing to keep here."""
        return _PUBLISHED_AFTER_COMMIT

    @property
    def outbox(self) -> RedisOutbox:
        return self._outbox

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.rollback()

    async def commit(self) -> None:
        if self._committed:
            raise InvalidInput("this unit of work has already committed")
        plan = CommitPlan()
        self._conversations.stage(plan)
        self._pending.stage(plan)
        self._queue.stage(plan)
        self._presence.stage(plan)
        self._slots.stage(plan)
        self._outbox.stage(plan)
        if plan.has_writes:
            outcome = await self._run(plan)
            code = str(outcome[0])
            if code not in ("ok", "applied"):
                raise self._conflict(code, str(outcome[1]))
        self._conversations.committed()
        self._pending.committed()
        self._queue.committed()
        self._presence.committed()
        self._slots.committed()
        self._outbox.committed()
        self._session.new_conversations.clear()
        self._session.presence_read.clear()
        self._session.prefetched.loads = None
        self._committed = True

    async def _run(self, plan: CommitPlan) -> list[object]:
        """Send the commit script, again with the same token if the connection failed on the way."""
        token_key = self._ctx.keys.commit_token(uuid.uuid4().hex)
        keys, args = plan.encode(token_key, self._ctx.token_ttl)
        attempts = self._ctx.commit_attempts
        for attempt in range(1, attempts + 1):
            try:
                return list(await self._ctx.scripts.commit(keys=keys, args=args))
            except UNAVAILABLE as exc:
                if attempt == attempts:
                    raise translate(exc) from exc
                await asyncio.sleep(0.01 * attempt)
            except (redis_errors.RedisError, UnicodeError) as exc:
                raise translate(exc) from exc
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _conflict(self, code: str, detail: str) -> StoreError:
        if code == OPEN:
            return ConversationAlreadyOpen(f"an open conversation already exists for {detail}")
        if code == DUPLICATE:
            # The message was stored meanwhile; remember it so the retried cycle sees a duplicate at once.
            self._ctx.known_duplicates.add(detail)
            return ConcurrencyConflict(f"message {detail} was stored by another unit of work")
        if code == SLOT:
            return ConcurrencyConflict(f"the tentative claim of slot {detail} expired before commit")
        if code == CONFLICT:
            return ConcurrencyConflict(f"{detail} changed since it was read")
        return StoreError(f"unexpected commit outcome {code!r}: {detail}")

    async def rollback(self) -> None:
        self._conversations.rolled_back()
        self._pending.rolled_back()
        self._queue.rolled_back()
        self._presence.rolled_back()
        self._outbox.rolled_back()
        self._session.new_conversations.clear()
        await self._slots.release()
