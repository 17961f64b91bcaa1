"""The conformance suite of :class:`~dispatcher_core.ports.ConversationPurge`: subclass it and provide
``uow_factory`` and ``purge`` on one fresh store."""

from __future__ import annotations

from datetime import timedelta

from dispatcher_core.entities import Message, MessageDirection
from dispatcher_core.messaging.outbound import OutboundMessage, TextContent
from dispatcher_core.ports import ConversationPurge, UnitOfWork, UnitOfWorkFactory
from dispatcher_core.testing.conformance._support import at, conversation, message, write

__all__ = ["ConversationPurgeConformance"]


async def _closed_with_history(uow_factory: UnitOfWorkFactory, customer: str, closed_minute: float) -> str:
    conv = conversation(customer, agent="a1")
    inbound = message(conv, f"wamid.{customer}")
    reply = OutboundMessage.queue(
        id=f"out-{customer}",
        business_number_id=conv.business_number_id,
        to="33612345678",
        content=TextContent("bye"),
        now=at(1),
        conversation_id=conv.id,
        agent_id="a1",
        client_id=f"client-{customer}",
    )

    async def create(uow: UnitOfWork) -> None:
        await uow.conversations.add(conv)
        await uow.conversations.add_message(inbound)
        await uow.conversations.add_message(
            Message(
                id=reply.id,
                conversation_id=conv.id,
                business_number_id=conv.business_number_id,
                external_id=f"out:{reply.id}",
                direction=MessageDirection.OUTBOUND,
                kind="text",
                text="bye",
                received_at=at(1),
            )
        )
        await uow.outbox.add(reply)

    await write(uow_factory, create)

    async def close(uow: UnitOfWork) -> None:
        stored = await uow.conversations.get(conv.id)
        assert stored is not None
        await uow.conversations.save(stored.close(at(closed_minute), "agent"))

    await write(uow_factory, close)
    return conv.id


class ConversationPurgeConformance:
    async def test_purge_deletes_old_closed_conversations_with_everything_they_hold(
        self, uow_factory: UnitOfWorkFactory, purge: ConversationPurge
    ) -> None:
        old = await _closed_with_history(uow_factory, "old", closed_minute=10)
        recent = await _closed_with_history(uow_factory, "recent", closed_minute=100)
        still_open = conversation("open", agent="a1")
        await write(uow_factory, lambda uow: uow.conversations.add(still_open))

        assert await purge.purge_closed(at(50)) == 1
        assert await purge.purge_closed(at(50)) == 0
        async with uow_factory() as uow:
            assert await uow.conversations.get(old) is None
            assert list(await uow.conversations.get_messages(old)) == []
            assert await uow.outbox.get("out-old") is None
            assert await uow.outbox.get_by_client_id("a1", "client-old") is None
            assert list(await uow.outbox.list_by_conversation(old)) == []
            assert await uow.conversations.get(recent) is not None
            assert len(await uow.conversations.get_messages(recent)) == 2
            assert await uow.outbox.get("out-recent") is not None
            assert await uow.conversations.get(still_open.id) is not None
            listed = {c.id for c in await uow.conversations.list(limit=10)}
        assert listed == {recent, still_open.id}

    async def test_purge_goes_in_batches(self, uow_factory: UnitOfWorkFactory, purge: ConversationPurge) -> None:
        for n in range(3):
            await _closed_with_history(uow_factory, f"c{n}", closed_minute=10 + n)
        assert await purge.purge_closed(at(60) + timedelta(days=1), limit=2) == 2
        assert await purge.purge_closed(at(60) + timedelta(days=1), limit=2) == 1
        async with uow_factory() as uow:
            assert list(await uow.conversations.list(limit=10)) == []
