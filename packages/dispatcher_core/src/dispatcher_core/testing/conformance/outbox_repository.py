"""The outbox as part of the store: the ``OutboxRepository`` contract through units of work, plus what the
unit of work adds (atomicity with the conversation, read-your-own-writes, rollback).

Runs on every store through :class:`~dispatcher_core.testing.conformance.StoreConformance`.
"""

from __future__ import annotations

import pytest

from dispatcher_core.entities import Message, MessageDirection
from dispatcher_core.messaging.outbound import OutboundMessage, OutboundStatus, TextContent
from dispatcher_core.messaging.outbox_conformance import OutboxRepositoryConformance
from dispatcher_core.messaging.outbox_store import UnitOfWorkOutbox
from dispatcher_core.ports import OutboxRepository, UnitOfWorkFactory
from dispatcher_core.testing.conformance._support import at, conversation, write

__all__ = ["OutboxConformance"]


def _reply(reference: str, conversation_id: str, *, minute: float = 1) -> OutboundMessage:
    return OutboundMessage.queue(
        id=reference,
        business_number_id="bn1",
        to="33612345678",
        content=TextContent("on my way"),
        now=at(minute),
        conversation_id=conversation_id,
        agent_id="a1",
        client_id=f"client-{reference}",
    )


class OutboxConformance(OutboxRepositoryConformance):
    @pytest.fixture
    def outbox(self, uow_factory: UnitOfWorkFactory) -> OutboxRepository:
        return UnitOfWorkOutbox(uow_factory)

    async def test_an_outbound_message_commits_with_its_conversation(self, uow_factory: UnitOfWorkFactory) -> None:
        conv = conversation("c1", agent="a1")
        reply = _reply("r1", conv.id)
        as_message = Message(
            id=reply.id,
            conversation_id=conv.id,
            business_number_id=conv.business_number_id,
            external_id=f"out.{reply.id}",
            direction=MessageDirection.OUTBOUND,
            kind="text",
            text="on my way",
            received_at=at(1),
        )

        async def both(uow: object) -> None:
            assert hasattr(uow, "outbox")
            await uow.conversations.add(conv)  # type: ignore[attr-defined]  # a UnitOfWork
            await uow.conversations.add_message(as_message)  # type: ignore[attr-defined]  # same
            await uow.outbox.add(reply)

        await write(uow_factory, both)
        async with uow_factory() as uow:
            assert [m.id for m in await uow.conversations.get_messages(conv.id)] == ["r1"]
            assert [m.id for m in await uow.outbox.list_by_conversation(conv.id)] == ["r1"]

    async def test_outbox_writes_roll_back_with_the_unit_of_work(self, uow_factory: UnitOfWorkFactory) -> None:
        stored = await UnitOfWorkOutbox(uow_factory).add(_reply("kept", "conv-x"))
        async with uow_factory() as uow:
            await uow.outbox.add(_reply("dropped", "conv-x", minute=2))
            await uow.outbox.save(stored.start_sending(at(3)))
            # read your own writes
            assert (await uow.outbox.get("dropped")) is not None
            current = await uow.outbox.get("kept")
            assert current is not None
            assert current.status is OutboundStatus.SENDING
            await uow.rollback()
        async with uow_factory() as uow:
            assert await uow.outbox.get("dropped") is None
            assert await uow.outbox.get_by_client_id("a1", "client-dropped") is None
            assert await uow.outbox.get("kept") == stored
            assert [m.id for m in await uow.outbox.list_by_conversation("conv-x")] == ["kept"]

    async def test_a_recorded_message_is_never_due(self, uow_factory: UnitOfWorkFactory) -> None:
        recorded = OutboundMessage.queue(
            id="rec",
            business_number_id="bn1",
            to="33612345678",
            content=TextContent("noted"),
            now=at(0),
            status=OutboundStatus.RECORDED,
        )
        outbox = UnitOfWorkOutbox(uow_factory)
        assert (await outbox.add(recorded)).status is OutboundStatus.RECORDED
        assert list(await outbox.list_due(at(60))) == []
