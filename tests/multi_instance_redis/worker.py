"""One app instance of the multi-instance Redis test, run as its own OS process: ``python worker.py CONFIG``.

It drives the real orchestrator on the shared Redis store, its connections named ``<prefix>-w<index>`` so
the test can ``CLIENT KILL`` them, and publishes its events both through :class:`RedisEventPublisher`
(cross-instance delivery, watched by the test) and to a JSON-lines file for ``tests/support/invariants.py``.
It writes to the output file:

* ``accepted`` / ``duplicates``: how the orchestrator answered its messages. A message is retried until
  answered, as Meta retries a webhook answered 503 (store unavailable, retries exhausted);
* ``commits``: every conversation state it committed, as (id, stored version). Versions are
  compare-and-set, so the union of every process's list must hold each (id, version) once: two entries
  would be two writers both winning (I1 broken at the store);
* ``runs``: how many scheduled slots it claimed, hence ran, per job (I7).

Phases are separated by barriers on Redis: ``steady`` (every agent online), ``chaos`` (agents flapping,
scheduled jobs), then every agent reconnects and a last distribution runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

from hybrid import RecordWithRedisQueue  # type: ignore[import-not-found]  # this directory: sys.path[0] of a script
from invariants import EventRecorder, stamped  # type: ignore[import-not-found]  # tests/support, put on sys.path above

from dispatcher_adapters.memory import SystemClock
from dispatcher_adapters.redis import RedisEventPublisher, RedisStore, create_client
from dispatcher_adapters.sql import SqlStore
from dispatcher_core.entities import Conversation, ConversationStatus, IncomingMessage, Message
from dispatcher_core.errors import RetriesExhausted, StoreUnavailable
from dispatcher_core.events import DomainEvent
from dispatcher_core.orchestrator import DispatcherOrchestrator
from dispatcher_core.ports import EventPublisher, SlotClaims, UnitOfWork
from dispatcher_core.services.scheduler import DispatcherScheduler
from dispatcher_core.settings import DispatcherSettings

T = TypeVar("T")


class Counters:
    def __init__(self) -> None:
        self.commits: list[tuple[str, int]] = []
        self.accepted = 0
        self.duplicates = 0
        self.runs: dict[str, int] = {}
        self.unavailable = 0
        self.exhausted = 0


class VersionedConversations:
    """The store's conversation repository, noting the version each write stores."""

    def __init__(self, inner: Any, staged: list[tuple[str, int]]) -> None:
        self._inner = inner
        self._staged = staged

    async def add(self, conversation: Conversation) -> None:
        await self._inner.add(conversation)
        self._staged.append((conversation.id, 0))

    async def save(self, conversation: Conversation) -> None:
        await self._inner.save(conversation)
        self._staged.append((conversation.id, conversation.version + 1))

    async def get(self, conversation_id: str) -> Conversation | None:
        result: Conversation | None = await self._inner.get(conversation_id)
        return result

    async def get_open_by_key(self, business_number_id: str, customer_id: str) -> Conversation | None:
        result: Conversation | None = await self._inner.get_open_by_key(business_number_id, customer_id)
        return result

    async def list_pending(self, limit: int | None = None) -> Sequence[Conversation]:
        result: Sequence[Conversation] = await self._inner.list_pending(limit)
        return result

    async def count_pending(self) -> int:
        result: int = await self._inner.count_pending()
        return result

    async def list_by_agent(self, agent_id: str) -> Sequence[Conversation]:
        result: Sequence[Conversation] = await self._inner.list_by_agent(agent_id)
        return result

    async def list(
        self,
        *,
        status: ConversationStatus | None = None,
        agent_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Sequence[Conversation]:
        result: Sequence[Conversation] = await self._inner.list(
            status=status, agent_id=agent_id, limit=limit, offset=offset
        )
        return result

    async def count_active_by_agent(self) -> Mapping[str, int]:
        result: Mapping[str, int] = await self._inner.count_active_by_agent()
        return result

    async def list_timeout_candidates(
        self, *, unanswered_before: datetime, inactive_before: datetime
    ) -> Sequence[Conversation]:
        result: Sequence[Conversation] = await self._inner.list_timeout_candidates(
            unanswered_before=unanswered_before, inactive_before=inactive_before
        )
        return result

    async def add_message(self, message: Message) -> bool:
        result: bool = await self._inner.add_message(message)
        return result

    async def get_messages(self, conversation_id: str) -> Sequence[Message]:
        result: Sequence[Message] = await self._inner.get_messages(conversation_id)
        return result

    async def mark_delivered(self, message_ids: Sequence[str], agent_id: str) -> None:
        await self._inner.mark_delivered(message_ids, agent_id)


class VersionedUnitOfWork:
    """A unit of work that logs the conversation versions it stored, once its commit succeeded."""

    def __init__(self, inner: UnitOfWork, counters: Counters) -> None:
        self._inner = inner
        self._counters = counters
        self._staged: list[tuple[str, int]] = []
        self.conversations = VersionedConversations(inner.conversations, self._staged)
        self.pending = inner.pending
        self.queue = inner.queue
        self.presence = inner.presence
        self.slots = inner.slots
        self.events = inner.events
        self.outbox = inner.outbox

    async def __aenter__(self) -> Self:
        await self._inner.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._staged.clear()
        await self._inner.__aexit__(exc_type, exc, tb)

    async def commit(self) -> None:
        await self._inner.commit()
        self._counters.commits.extend(self._staged)
        self._staged.clear()

    async def rollback(self) -> None:
        self._staged.clear()
        await self._inner.rollback()


class CountedClaims:
    """The scheduler's slot claims, counted per job once committed. A run that fails gives its claim back
    (``unclaim``, counted as -1): the slot then runs again, so I7 counts successful runs."""

    def __init__(self, inner: SlotClaims, claimed: list[str]) -> None:
        self._inner = inner
        self._claimed = claimed

    async def claim(self, job: str, slot: str, at: datetime) -> bool:
        won = await self._inner.claim(job, slot, at)
        if won:
            self._claimed.append(job)
        return won

    async def unclaim(self, job: str, slot: str) -> bool:
        given_back = await self._inner.unclaim(job, slot)
        if given_back:
            self._claimed.append("-" + job)
        return given_back


class ClaimCountingUnitOfWork:
    def __init__(self, inner: UnitOfWork, counters: Counters) -> None:
        self._inner = inner
        self._counters = counters
        self._claimed: list[str] = []
        self.conversations = inner.conversations
        self.pending = inner.pending
        self.queue = inner.queue
        self.presence = inner.presence
        self.slots = CountedClaims(inner.slots, self._claimed)
        self.events = inner.events
        self.outbox = inner.outbox

    async def __aenter__(self) -> Self:
        await self._inner.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._claimed.clear()
        await self._inner.__aexit__(exc_type, exc, tb)

    async def commit(self) -> None:
        await self._inner.commit()
        for entry in self._claimed:
            job, step = (entry[1:], -1) if entry.startswith("-") else (entry, 1)
            self._counters.runs[job] = self._counters.runs.get(job, 0) + step
        self._claimed.clear()

    async def rollback(self) -> None:
        self._claimed.clear()
        await self._inner.rollback()


class BothPublishers:
    """Events go to Redis (what the app does) and to the file the invariant checks read."""

    def __init__(self, *publishers: EventPublisher) -> None:
        self._publishers = publishers

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        for publisher in self._publishers:
            await publisher.publish(events)


async def until_done(counters: Counters, action: Callable[[], Awaitable[T]]) -> T:
    """Retry what a client would retry: a 503 (store unavailable) or a cycle that kept conflicting."""
    for _ in range(1000):
        try:
            return await action()
        except (StoreUnavailable, RedisError):
            counters.unavailable += 1
        except RetriesExhausted:
            counters.exhausted += 1
        await asyncio.sleep(0.005)
    raise RuntimeError("gave up retrying")


async def barrier(client: Redis, counters: Counters, prefix: str, name: str, parties: int) -> None:
    key = f"{prefix}:test:barrier:{name}"
    await until_done(counters, lambda: client.incr(key))
    while int(await until_done(counters, lambda: client.get(key)) or 0) < parties:  # noqa: ASYNC110  # other processes: no in-process event to wait on
        await asyncio.sleep(0.01)


class Worker:
    def __init__(self, config: dict[str, Any], client: Redis, make_uow: Callable[[], UnitOfWork]) -> None:
        self.config = config
        self.client = client
        self.prefix: str = config["prefix"]
        self.index: int = config["index"]
        self.counters = Counters()

        def versioned() -> UnitOfWork:
            return VersionedUnitOfWork(make_uow(), self.counters)

        uow_factory = stamped(versioned)
        settings = DispatcherSettings(
            disconnect_grace=timedelta(0),
            timeout_check_interval=timedelta(hours=1),
            max_conflict_retries=200,  # three processes x (4 messages + drains) in flight on one queue
        )
        clock = SystemClock()
        recorder = EventRecorder(Path(config["events"]), f"w{self.index}")
        self.orchestrator = DispatcherOrchestrator(
            uow_factory=uow_factory,
            publisher=BothPublishers(RedisEventPublisher(client, prefix=self.prefix), recorder),
            clock=clock,
            settings=settings,
        )

        def counting() -> UnitOfWork:
            return ClaimCountingUnitOfWork(uow_factory(), self.counters)

        self.scheduler = DispatcherScheduler(
            orchestrator=self.orchestrator, uow_factory=counting, clock=clock, settings=settings
        )
        self.agents: list[str] = config["agents"]
        self.sockets = dict.fromkeys(self.agents, 0)
        self.online: set[str] = set()

    async def deliver(self, item: list[str]) -> None:
        business, customer, external = item
        incoming = IncomingMessage(business_number_id=business, customer_id=customer, external_id=external)
        outcome = await until_done(self.counters, lambda: self.orchestrator.handle_incoming_message(incoming))
        if outcome.duplicate:
            self.counters.duplicates += 1
        else:
            self.counters.accepted += 1
        await until_done(self.counters, lambda: self.client.incr(f"{self.prefix}:test:done"))

    async def deliver_all(self, items: list[list[str]]) -> None:
        queue: asyncio.Queue[list[str]] = asyncio.Queue()
        for item in items:
            queue.put_nowait(item)

        async def consume() -> None:
            while not queue.empty():
                await self.deliver(queue.get_nowait())

        await asyncio.gather(*(consume() for _ in range(self.config["concurrency"])))

    async def connect(self, agent: str) -> None:
        self.sockets[agent] += 1
        self.online.add(agent)
        socket = f"w{self.index}-{self.sockets[agent]}"
        await until_done(self.counters, lambda: self.orchestrator.handle_agent_connected(agent, socket))

    async def disconnect(self, agent: str) -> None:
        self.online.discard(agent)
        socket = f"w{self.index}-{self.sockets[agent]}"
        await until_done(self.counters, lambda: self.orchestrator.handle_agent_disconnected(agent, socket))

    async def flap(self, agent: str) -> None:
        await (self.disconnect(agent) if agent in self.online else self.connect(agent))

    async def run_job(self, call: Callable[[], Awaitable[object | None]]) -> None:
        """A scheduled job, tried once like the app's scheduler does: its run is counted when its claim
        commits (``ClaimCountingUnitOfWork``), whether the run itself then succeeds or not."""
        with contextlib.suppress(StoreUnavailable, RedisError, RetriesExhausted):
            await call()

    async def run(self) -> None:
        workers = self.config["workers"]
        for agent in self.agents:
            await self.connect(agent)
        await barrier(self.client, self.counters, self.prefix, "online", workers)

        started = time.monotonic()
        await self.deliver_all(self.config["steady"])
        print(f"w{self.index}: steady phase {time.monotonic() - started:.1f}s", file=sys.stderr)
        await barrier(self.client, self.counters, self.prefix, "steady-done", workers)

        started = time.monotonic()
        for number, chunk in enumerate(self.config["chaos"]):
            jobs: list[Awaitable[None]] = [self.flap(self.agents[number % len(self.agents)]), self.deliver_all(chunk)]
            if number in (1, 4):  # every worker runs both jobs for the same slots: one run each (I7)
                jobs.append(self.run_job(self.scheduler.check_response_timeout))
                jobs.append(self.run_job(self.scheduler.scheduled_distribution))
            await asyncio.gather(*jobs)
        for agent in self.agents:
            if agent not in self.online:
                await self.connect(agent)
        print(f"w{self.index}: chaos phase {time.monotonic() - started:.1f}s", file=sys.stderr)
        await barrier(self.client, self.counters, self.prefix, "chaos-done", workers)
        await until_done(self.counters, self.orchestrator.distribute_pending_messages)
        print(
            f"w{self.index}: store unavailable {self.counters.unavailable}x, "
            f"retries exhausted {self.counters.exhausted}x",
            file=sys.stderr,
        )


async def run(config: dict[str, Any]) -> Counters:
    client = create_client(config["redis_url"], client_name=f"{config['prefix']}-w{config['index']}")
    record: SqlStore | None = None
    try:
        redis_store = RedisStore(client, prefix=config["prefix"], dedup=config["dedup"])
        make_uow: Callable[[], UnitOfWork] = redis_store.unit_of_work
        if config["database_url"] is not None:  # PostgreSQL as the record, Redis for the rotation
            sql_store = record = await SqlStore.create(
                config["database_url"], pool_size=config["concurrency"] + 2, max_overflow=2
            )

            def make_uow() -> UnitOfWork:
                composed: UnitOfWork = RecordWithRedisQueue(sql_store.unit_of_work(), redis_store.unit_of_work())
                return composed

        worker = Worker(config, client, make_uow)
        await worker.run()
        return worker.counters
    finally:
        if record is not None:
            await record.close()
        await client.aclose()


def main() -> None:
    config = json.loads(Path(sys.argv[1]).read_text())
    counters = asyncio.run(run(config))
    result = {
        "commits": counters.commits,
        "accepted": counters.accepted,
        "duplicates": counters.duplicates,
        "runs": counters.runs,
    }
    Path(config["output"]).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
