"""The conformance suite of the ``OutboxRepository`` port: every adapter (memory, SQL, Redis) must pass it.

Subclass :class:`OutboxRepositoryConformance` in the adapter's tests and provide an async ``outbox`` fixture
returning an empty repository; pytest (with pytest-asyncio in auto mode) collects the inherited tests. It
imports nothing outside the standard library, so it can live in the core without pulling pytest in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from dispatcher_core.errors import ConcurrencyConflict, NotFound
from dispatcher_core.messaging.error_codes import GraphError
from dispatcher_core.messaging.outbound import OutboundMessage, OutboundStatus, TextContent
from dispatcher_core.messaging.template import BodyComponent, TemplateMessage
from dispatcher_core.ports.outbox_repository import OutboxCount, OutboxRepository

__all__ = ["OutboxRepositoryConformance"]

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def _message(
    reference: str,
    *,
    at: datetime = T0,
    agent_id: str | None = None,
    client_id: str | None = None,
    conversation_id: str | None = None,
    template: str | None = None,
) -> OutboundMessage:
    content = (
        TextContent("hello")
        if template is None
        else TemplateMessage(template, "en_US", body=BodyComponent(parameters=("Ana",)))
    )
    return OutboundMessage.queue(
        id=reference,
        business_number_id="1122334455667",
        to="33612345678",
        content=content,
        now=at,
        agent_id=agent_id,
        client_id=client_id,
        conversation_id=conversation_id,
    )


async def _raises(exception: type[Exception], awaitable: Awaitable[object]) -> None:
    try:
        await awaitable
    except exception:
        return
    raise AssertionError(f"expected {exception.__name__}")


class OutboxRepositoryConformance:
    """The contract of :class:`~dispatcher_core.ports.outbox_repository.OutboxRepository`."""

    async def test_outbox_add_then_get_returns_the_stored_message_at_version_0(self, outbox: OutboxRepository) -> None:
        stored = await outbox.add(_message("m1"))
        assert stored.version == 0
        assert await outbox.get("m1") == stored
        assert await outbox.get("missing") is None

    async def test_outbox_add_twice_the_same_id_conflicts_and_keeps_the_first(self, outbox: OutboxRepository) -> None:
        first = await outbox.add(_message("m1"))
        await _raises(ConcurrencyConflict, outbox.add(_message("m1", conversation_id="other")))
        assert await outbox.get("m1") == first

    async def test_outbox_add_is_idempotent_on_agent_and_client_id(self, outbox: OutboxRepository) -> None:
        first = await outbox.add(_message("m1", agent_id="a1", client_id="c1"))
        again = await outbox.add(_message("m2", agent_id="a1", client_id="c1"))
        assert again == first
        assert await outbox.get("m2") is None
        other_agent = await outbox.add(_message("m3", agent_id="a2", client_id="c1"))
        assert other_agent.id == "m3"
        assert await outbox.get_by_client_id("a1", "c1") == first
        assert await outbox.get_by_client_id("a1", "nope") is None

    async def test_outbox_concurrent_adds_with_the_same_client_id_store_one(self, outbox: OutboxRepository) -> None:
        results = await asyncio.gather(
            *(outbox.add(_message(f"m{i}", agent_id="a1", client_id="same")) for i in range(10))
        )
        assert len({result.id for result in results}) == 1
        assert len([i for i in range(10) if await outbox.get(f"m{i}") is not None]) == 1

    async def test_outbox_save_is_a_compare_and_set_on_version(self, outbox: OutboxRepository) -> None:
        stored = await outbox.add(_message("m1"))
        sending = await outbox.save(stored.start_sending(T0))
        assert sending.version == 1
        assert sending.status is OutboundStatus.SENDING
        await _raises(ConcurrencyConflict, outbox.save(stored.start_sending(T0)))
        assert await outbox.get("m1") == sending

    async def test_outbox_concurrent_saves_of_one_version_let_exactly_one_win(self, outbox: OutboxRepository) -> None:
        stored = await outbox.add(_message("m1"))
        outcomes = await asyncio.gather(
            *(outbox.save(stored.start_sending(T0 + timedelta(seconds=i))) for i in range(5)),
            return_exceptions=True,
        )
        assert sum(1 for outcome in outcomes if isinstance(outcome, OutboundMessage)) == 1
        assert all(isinstance(o, OutboundMessage | ConcurrencyConflict) for o in outcomes)

    async def test_outbox_save_cannot_change_the_owner_or_the_keys(self, outbox: OutboxRepository) -> None:
        stored = await outbox.add(_message("m1", agent_id="a1", client_id="c1", conversation_id="conv"))
        for changed in (
            replace(stored, agent_id="a2"),
            replace(stored, client_id="c2"),
            replace(stored, conversation_id="other"),
        ):
            await _raises(ConcurrencyConflict, outbox.save(changed.start_sending(T0)))
        assert await outbox.get("m1") == stored

    async def test_outbox_save_of_an_unknown_message_is_not_found(self, outbox: OutboxRepository) -> None:
        await _raises(NotFound, outbox.save(_message("ghost")))

    async def test_outbox_wamid_is_indexed_and_unique(self, outbox: OutboxRepository) -> None:
        one = await outbox.save((await outbox.add(_message("m1"))).start_sending(T0))
        two = await outbox.save((await outbox.add(_message("m2"))).start_sending(T0))
        sent = await outbox.save(one.mark_sent("wamid.A", T0, 1))
        assert await outbox.get_by_wamid("wamid.A") == sent
        assert await outbox.get_by_wamid("wamid.B") is None
        await _raises(ConcurrencyConflict, outbox.save(two.mark_sent("wamid.A", T0, 1)))
        assert (await outbox.get("m2")) == two

    async def test_outbox_list_by_status_oldest_update_first_with_cutoff(self, outbox: OutboxRepository) -> None:
        for i in range(3):
            await outbox.add(_message(f"q{i}", at=T0 + timedelta(minutes=i)))
        stuck = await outbox.add(_message("s", at=T0))
        await outbox.save(stuck.start_sending(T0 + timedelta(minutes=5)))
        queued = await outbox.list_by_status(OutboundStatus.QUEUED)
        assert [m.id for m in queued] == ["q0", "q1", "q2"]
        early = await outbox.list_by_status(OutboundStatus.QUEUED, updated_before=T0 + timedelta(minutes=1))
        assert [m.id for m in early] == ["q0"]
        assert [m.id for m in await outbox.list_by_status(OutboundStatus.QUEUED, limit=2)] == ["q0", "q1"]
        assert [m.id for m in await outbox.list_by_status(OutboundStatus.SENDING)] == ["s"]

    async def test_outbox_list_due_skips_messages_waiting_for_their_retry_time(self, outbox: OutboxRepository) -> None:
        await outbox.add(_message("now", at=T0))
        later = await outbox.add(_message("later", at=T0))
        await outbox.add(_message("q2", at=T0 + timedelta(seconds=1)))
        sending = await outbox.save(later.start_sending(T0))
        await outbox.save(sending.requeue(T0, 1, not_before=T0 + timedelta(minutes=1)))
        assert [m.id for m in await outbox.list_due(T0 + timedelta(seconds=2))] == ["now", "q2"]
        due = await outbox.list_due(T0 + timedelta(minutes=1))
        assert [m.id for m in due] == ["now", "q2", "later"]
        assert [m.id for m in await outbox.list_due(T0 + timedelta(minutes=1), limit=1)] == ["now"]

    async def test_outbox_a_stored_message_reads_back_equal(self, outbox: OutboxRepository) -> None:
        template = await outbox.add(_message("t", template="promo", agent_id="a1", client_id="c1"))
        assert await outbox.get("t") == template
        sending = await outbox.save(template.start_sending(T0))
        failed = await outbox.save(sending.mark_failed(GraphError(code=131047, http_status=400, title="w"), T0, 2))
        assert await outbox.get("t") == failed
        assert (failed.error_code, failed.failed_at, failed.version) == (131047, T0, 2)

    async def test_outbox_list_by_conversation_in_creation_order(self, outbox: OutboxRepository) -> None:
        await outbox.add(_message("b", conversation_id="c1", at=T0))
        await outbox.add(_message("x", conversation_id="c2", at=T0))
        await outbox.add(_message("a", conversation_id="c1", at=T0 + timedelta(seconds=1)))
        assert [m.id for m in await outbox.list_by_conversation("c1")] == ["b", "a"]
        assert list(await outbox.list_by_conversation("none")) == []

    async def test_outbox_count_created_between_groups_by_template_and_status(self, outbox: OutboxRepository) -> None:
        await outbox.add(_message("t1", template="promo"))
        await outbox.add(_message("t2", template="promo"))
        text = await outbox.add(_message("x1"))
        failed = (await outbox.save(text.start_sending(T0))).mark_failed(
            GraphError(code=131047, http_status=400, title="window"), T0, 1
        )
        await outbox.save(failed)
        await outbox.add(_message("late", at=T0 + timedelta(hours=2)))
        counts = await outbox.count_created_between(T0, T0 + timedelta(hours=1))
        assert set(counts) == {
            OutboxCount("promo", OutboundStatus.QUEUED, 2),
            OutboxCount(None, OutboundStatus.FAILED, 1),
        }
        assert list(await outbox.count_created_between(T0 - timedelta(hours=1), T0)) == []
