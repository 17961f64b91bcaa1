"""Receiving the events of every instance: one subscriber per app instance, for the agents connected to it.

The instance :meth:`~RedisEventSubscriber.watch`\\es an agent when its first socket opens here and gets the
agent's current sequence number; from then on each event for that agent must carry the next number:

* the next number -> delivered to ``on_agent_event``;
* an old number -> dropped (already covered);
* a jump (a missed event) -> ``resync(agent_id)`` is called instead of delivering it, so the socket is
  rebuilt from the store, which is the truth and is at least as new as the event; so is a number from
  another *epoch* (the counter was lost and started again: a flush, an eviction);
* a lost connection -> redis-py or this loop reconnects, the channels are subscribed again, and each
  re-subscription (Redis confirms every channel again) re-reads the agent's number then calls ``resync``:
  events published while the connection was down are never silently lost. The watched agents and their
  numbers live in this object, so a reconnection loses nothing of them.

A resync that fails (the store is down too) is retried on the next idle tick. Handlers run one at a time in
the reader task, in publication order; a failing handler is logged and skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import redis.exceptions as redis_errors
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from dispatcher_adapters.redis.codec import load_event
from dispatcher_adapters.redis.errors import UNAVAILABLE, guarded, translate
from dispatcher_adapters.redis.keys import RedisKeys
from dispatcher_adapters.redis.session import require_decoded_responses
from dispatcher_core.errors import InvalidInput, StoreUnavailable
from dispatcher_core.events import DomainEvent

__all__ = ["EventEnvelope", "RedisEventSubscriber"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EventEnvelope:
    """An event as published: ``agent_id`` and ``seq`` are set for events sent to an agent."""

    agent_id: str | None
    seq: int | None
    event: DomainEvent


Handler = Callable[[EventEnvelope], Awaitable[None]]
Resync = Callable[[str], Awaitable[None]]


class RedisEventSubscriber:
    def __init__(
        self,
        client: Redis,
        *,
        prefix: str = "dispatcher",
        on_agent_event: Handler,
        resync: Resync,
        on_admin_event: Handler | None = None,
        on_admin_resync: Callable[[], Awaitable[None]] | None = None,
        poll_interval: float = 0.5,
        max_reconnect_delay: float = 1.0,
        confirm_timeout: float = 10.0,
    ) -> None:
        """``on_admin_event`` (optional) receives every event of every instance, ``on_admin_resync`` is called
        after the admin stream reconnected. ``client`` must use ``decode_responses=True``."""
        require_decoded_responses(client, "RedisEventSubscriber")
        self.keys = RedisKeys(prefix)
        self._client = client
        self._on_agent_event = on_agent_event
        self._resync = resync
        self._on_admin_event = on_admin_event
        self._on_admin_resync = on_admin_resync
        self._poll = poll_interval
        self._max_delay = max_reconnect_delay
        self._confirm_timeout = confirm_timeout
        self._control = f"{prefix}:events:control:{uuid.uuid4().hex}"
        self._pubsub: PubSub | None = None
        self._task: asyncio.Task[None] | None = None
        self._watchers: dict[str, int] = {}
        self._baselines: dict[str, asyncio.Future[int]] = {}
        self._last: dict[str, int] = {}
        self._epochs: dict[str, str | None] = {}
        self._confirmed: set[str] = set()
        self._dirty: set[str] = set()
        #: counters, for metrics and tests
        self.reconnections = 0
        self.resyncs = 0
        self.gaps = 0

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Connect and start the reader task (subscribes a private control channel, and the admin channel
        when there is an admin handler)."""
        if self._task is not None:
            return
        self._pubsub = self._client.pubsub()
        channels = [self._control] + ([self.keys.admin_channel] if self._on_admin_event is not None else [])
        try:
            await self._pubsub.subscribe(*channels)
        except (redis_errors.RedisError, OSError) as exc:
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves PubSub.aclose unannotated
            self._pubsub = None
            raise translate(exc) from exc
        self._task = asyncio.create_task(self._read_forever(), name="redis-event-subscriber")

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for future in self._baselines.values():
            if not future.done():
                future.set_exception(StoreUnavailable("the event subscriber was closed"))
                future.exception()  # retrieved: nobody may be waiting
        self._baselines.clear()
        if self._pubsub is not None:
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves PubSub.aclose unannotated
            self._pubsub = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ agents

    async def watch(self, agent_id: str) -> int:
        """Receive ``agent_id``'s events on this instance (counted: call once per socket). Returns the agent's
        sequence number at the moment the subscription became active: the caller builds the socket's
        initial state from the store after this, and every later event has a greater number."""
        if self._pubsub is None:
            raise RuntimeError("RedisEventSubscriber.watch() before start()")
        if not agent_id:
            raise InvalidInput("agent id must be a non-empty string")
        self._watchers[agent_id] = self._watchers.get(agent_id, 0) + 1
        if agent_id in self._last:
            return self._last[agent_id]
        future = self._baselines.get(agent_id)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._baselines[agent_id] = future
            try:
                await guarded(self._pubsub.subscribe(self.keys.agent_channel(agent_id)))
            except StoreUnavailable:
                await self.unwatch(agent_id)
                raise
        try:
            return await asyncio.wait_for(asyncio.shield(future), self._confirm_timeout)
        except TimeoutError as exc:
            await self.unwatch(agent_id)
            raise StoreUnavailable(f"Redis did not confirm the subscription of agent {agent_id}") from exc
        except StoreUnavailable:
            await self.unwatch(agent_id)
            raise

    async def unwatch(self, agent_id: str) -> None:
        """One socket of ``agent_id`` closed here; the last one stops its subscription."""
        count = self._watchers.get(agent_id, 0) - 1
        if count > 0:
            self._watchers[agent_id] = count
            return
        self._watchers.pop(agent_id, None)
        self._last.pop(agent_id, None)
        self._epochs.pop(agent_id, None)
        self._dirty.discard(agent_id)
        future = self._baselines.pop(agent_id, None)
        if future is not None and not future.done():
            future.cancel()
        if self._pubsub is not None:
            with contextlib.suppress(redis_errors.RedisError, OSError):
                await self._pubsub.unsubscribe(self.keys.agent_channel(agent_id))

    def last_seq(self, agent_id: str) -> int | None:
        """The last sequence number delivered (or resynchronised to) for ``agent_id`` here."""
        return self._last.get(agent_id)

    # ------------------------------------------------------------------ the reader task

    async def _read_forever(self) -> None:
        assert self._pubsub is not None
        delay = 0.01
        while True:
            try:
                message = await self._pubsub.get_message(timeout=self._poll)
            except UNAVAILABLE as exc:
                _log.warning("event subscriber lost Redis (%s); reconnecting in %.2fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_delay)
                continue
            delay = 0.01
            try:
                if message is None:
                    await self._retry_dirty()
                else:
                    await self._handle(message)
            except Exception:  # a bug in one message's handling must not stop the stream
                _log.exception("event subscriber failed on %r", message)

    async def _handle(self, message: dict[str, Any]) -> None:
        kind, channel = message["type"], message["channel"]
        if kind == "subscribe":
            await self._subscribed(channel)
        elif kind == "unsubscribe":
            self._confirmed.discard(channel)
        elif kind == "message":
            envelope = json.loads(message["data"])
            if channel == self.keys.admin_channel:
                await self._deliver_admin(envelope)
            elif channel.startswith(self.keys.agent_channel_prefix):
                await self._deliver_agent(channel[len(self.keys.agent_channel_prefix) :], envelope)

    async def _subscribed(self, channel: str) -> None:
        """Redis confirmed a subscription: the first time for a channel it is ours, afterwards it means the
        connection was lost and re-established (redis-py subscribes every channel again)."""
        again = channel in self._confirmed
        self._confirmed.add(channel)
        if channel == self._control:
            if again:
                self.reconnections += 1
            return
        if channel == self.keys.admin_channel:
            if again and self._on_admin_resync is not None:
                await self._call(self._on_admin_resync())
            return
        agent_id = channel[len(self.keys.agent_channel_prefix) :]
        if agent_id not in self._watchers:
            return
        try:
            baseline = await self._read_counter(agent_id)
        except StoreUnavailable as exc:
            self._dirty.add(agent_id)
            self._fail_baseline(agent_id, exc)
            return
        future = self._baselines.pop(agent_id, None)
        if future is not None and not future.done():
            future.set_result(baseline)
        if again:
            await self._resync_agent(agent_id)

    def _fail_baseline(self, agent_id: str, exc: Exception) -> None:
        future = self._baselines.get(agent_id)
        if future is not None and not future.done():
            future.set_exception(exc)

    async def _read_counter(self, agent_id: str) -> int:
        """Take the agent's counter (epoch and number) as the new starting point; returns the number."""
        epoch, number = await guarded(self._client.hmget(self.keys.event_seq(agent_id), ["e", "n"]))
        self._epochs[agent_id] = None if epoch is None else str(epoch)
        self._last[agent_id] = int(number or 0)
        return self._last[agent_id]

    async def _deliver_agent(self, agent_id: str, envelope: dict[str, Any]) -> None:
        last = self._last.get(agent_id)
        seq = envelope.get("seq")
        if last is None or not isinstance(seq, int) or agent_id in self._dirty:
            return  # not watched here (any more), or waiting for a resync that will cover this event
        epoch, known = envelope.get("epoch"), self._epochs.get(agent_id)
        if known is None:
            self._epochs[agent_id] = known = epoch  # the counter was created after we read it
        if epoch != known:  # the counter was lost and started again: numbers cannot be compared
            self.gaps += 1
            self._epochs[agent_id], self._last[agent_id] = epoch, seq
            await self._resync_agent(agent_id)
            return
        if seq <= last:
            return
        if seq > last + 1:
            self.gaps += 1
            self._last[agent_id] = seq
            await self._resync_agent(agent_id)
            return
        self._last[agent_id] = seq
        event = load_event(envelope["event"])
        await self._call(self._on_agent_event(EventEnvelope(agent_id, seq, event)))

    async def _deliver_admin(self, envelope: dict[str, Any]) -> None:
        if self._on_admin_event is None:
            return
        event = load_event(envelope["event"])
        await self._call(self._on_admin_event(EventEnvelope(envelope.get("agent_id"), envelope.get("seq"), event)))

    async def _resync_agent(self, agent_id: str) -> None:
        self.resyncs += 1
        try:
            await self._resync(agent_id)
        except Exception:  # the store may be down too: try again on the next idle tick
            _log.exception("resync of agent %s failed; will retry", agent_id)
            self._dirty.add(agent_id)
        else:
            self._dirty.discard(agent_id)

    async def _retry_dirty(self) -> None:
        for agent_id in list(self._dirty):
            if agent_id not in self._watchers:
                self._dirty.discard(agent_id)
                continue
            try:
                await self._read_counter(agent_id)
            except StoreUnavailable:
                return
            self._dirty.discard(agent_id)
            future = self._baselines.pop(agent_id, None)
            if future is not None and not future.done():
                future.set_result(self._last[agent_id])
            await self._resync_agent(agent_id)

    @staticmethod
    async def _call(call: Awaitable[None]) -> None:
        try:
            await call
        except Exception:  # a subscriber's bug must not stop delivery to the others
            _log.exception("event handler failed")
