"""The event hubs, with a fake subscriber and fake sockets: numbering, routing, and resynchronisation."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from starlette.websockets import WebSocket

from dispatcher_adapters.memory import MemoryStore, SystemClock
from dispatcher_app.hub import EnvelopeHandler, LocalEventHub, SubscribedEventHub
from dispatcher_app.ws.connection import AgentConnection, SocketConnection
from dispatcher_app.ws.router import EventRouter
from dispatcher_core import DispatcherOrchestrator, IncomingMessage
from dispatcher_core.events import ConversationClosed, DomainEvent, QueueUpdated

NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


class FakeWebSocket:
    """Only what the connections use; frames land in ``sent``."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send_text(self, text: str) -> None:
        self.sent.append(json.loads(text))


def agent_socket(router: EventRouter, agent_id: str, name: str) -> tuple[AgentConnection, FakeWebSocket]:
    fake = FakeWebSocket()
    connection = AgentConnection(cast(WebSocket, fake), agent_id=agent_id, connection_id=name)
    router.attach_agent(connection)
    return connection, fake


async def drain(connection: SocketConnection) -> None:
    """Let the writer send everything queued so far."""
    connection.finish(1000, "done")
    await connection.run_writer()


@dataclass(frozen=True)
class Envelope:
    agent_id: str | None
    seq: int | None
    event: DomainEvent


class FakeSubscriber:
    """The subscriber side of Redis, driven by the test."""

    def __init__(
        self,
        on_agent_event: EnvelopeHandler,
        resync: Callable[[str], Awaitable[None]],
        on_admin_event: EnvelopeHandler,
        on_admin_resync: Callable[[], Awaitable[None]],
    ) -> None:
        self.on_agent_event = on_agent_event
        self.resync = resync
        self.on_admin_event = on_admin_event
        self.on_admin_resync = on_admin_resync
        self.last: dict[str, int] = {}
        self.watched: list[str] = []
        self.started = False

    async def start(self) -> None:
        self.started = True

    async def aclose(self) -> None:
        self.started = False

    async def watch(self, agent_id: str) -> int:
        self.watched.append(agent_id)
        return self.last.setdefault(agent_id, 0)

    async def unwatch(self, agent_id: str) -> None:
        self.watched.remove(agent_id)

    def last_seq(self, agent_id: str) -> int | None:
        return self.last.get(agent_id)


class NullPublisher:
    async def publish(self, events: object) -> None:
        return None


async def test_local_hub_numbers_each_agents_events_and_routes_only_to_that_agent() -> None:
    router = EventRouter()
    hub = LocalEventHub(router)
    alice, alice_ws = agent_socket(router, "alice", "a1")
    bob, bob_ws = agent_socket(router, "bob", "b1")
    alice.start({"type": "hello"}, await hub.current_seq("alice"))
    bob.start({"type": "hello"}, await hub.current_seq("bob"))
    await hub.publish(
        [
            ConversationClosed("conv-1", "alice", "agent", NOW),
            QueueUpdated(()),
            ConversationClosed("conv-2", "alice", "agent", NOW),
            ConversationClosed("conv-3", "bob", "agent", NOW),
        ]
    )
    await drain(alice)
    await drain(bob)
    assert [(f["type"], f.get("conversation_id"), f["seq"]) for f in alice_ws.sent] == [
        ("hello", None, 0),
        ("conversation.closed", "conv-1", 1),
        ("conversation.closed", "conv-2", 2),
    ]
    assert [(f.get("conversation_id"), f["seq"]) for f in bob_ws.sent] == [(None, 0), ("conv-3", 1)]
    assert (await hub.current_seq("alice"), await hub.current_seq("bob")) == (2, 1)


async def test_frames_held_before_hello_are_dropped_when_hello_covers_them() -> None:
    router = EventRouter()
    hub = LocalEventHub(router)
    alice, alice_ws = agent_socket(router, "alice", "a1")
    await hub.publish([ConversationClosed("conv-1", "alice", "agent", NOW)])  # before the snapshot
    snapshot_seq = await hub.current_seq("alice")
    await hub.publish([ConversationClosed("conv-2", "alice", "agent", NOW)])  # after it
    alice.start({"type": "hello"}, snapshot_seq)
    alice.control({"type": "pong"})
    await drain(alice)
    assert [(f["type"], f.get("conversation_id"), f["seq"]) for f in alice_ws.sent] == [
        ("hello", None, 1),
        ("conversation.closed", "conv-2", 2),
        ("pong", None, 2),
    ]


async def test_subscribed_hub_routes_envelopes_and_resynchronises_from_the_store() -> None:
    store = MemoryStore()
    orchestrator = DispatcherOrchestrator(
        uow_factory=store.unit_of_work, publisher=NullPublisher(), clock=SystemClock()
    )
    await orchestrator.handle_agent_connected("alice", "elsewhere")
    await orchestrator.handle_incoming_message(
        IncomingMessage(business_number_id="B", customer_id="c1", external_id="w1", text="hello")
    )
    router = EventRouter()
    made: list[FakeSubscriber] = []

    def make(*callbacks: Any) -> FakeSubscriber:
        made.append(FakeSubscriber(*callbacks))
        return made[0]

    hub = SubscribedEventHub(
        router=router, publisher=NullPublisher(), make_subscriber=make, uow_factory=store.unit_of_work
    )
    (subscriber,) = made
    await hub.start()
    assert subscriber.started
    alice, alice_ws = agent_socket(router, "alice", "a1")
    admin_ws = FakeWebSocket()
    admin = SocketConnection(cast(WebSocket, admin_ws))
    router.attach_admin(admin)
    await hub.watch("alice")
    alice.start({"type": "hello"}, await hub.current_seq("alice"))

    await subscriber.on_agent_event(Envelope("alice", 1, ConversationClosed("conv-9", "alice", "agent", NOW)))
    await subscriber.on_admin_event(Envelope(None, None, QueueUpdated(())))
    subscriber.last["alice"] = 7  # events 2-7 were missed: the subscriber asks for a resync
    await subscriber.resync("alice")
    await subscriber.on_admin_resync()
    await drain(alice)
    await drain(admin)
    hello_again = alice_ws.sent[2]
    assert [(f["type"], f["seq"]) for f in alice_ws.sent] == [("hello", 0), ("conversation.closed", 1), ("hello", 7)]
    assert [c["customer"]["id"] for c in hello_again["conversations"]] == ["c1"]
    assert [f["type"] for f in admin_ws.sent] == ["queue.updated", "resync"]
    await hub.unwatch("alice")
    assert subscriber.watched == []
    await hub.aclose()
    assert not subscriber.started
