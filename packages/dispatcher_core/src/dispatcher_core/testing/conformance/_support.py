"""Builders and helpers shared by the conformance suites."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from dispatcher_core.entities import Conversation, Message, MessageDirection, PendingMessage
from dispatcher_core.errors import ConcurrencyConflict
from dispatcher_core.ports import UnitOfWork, UnitOfWorkFactory

__all__ = ["T0", "ConformanceSuite", "at", "conversation", "expect_conflict", "message", "pending", "write"]

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_ids = itertools.count(1)


class ConformanceSuite:
    """Base of every suite class. Its tests carry the ``conformance`` marker (registered by the
    ``dispatcher_core`` pytest plugin: ``pytest -m conformance`` runs only them) and pytest-asyncio's ``asyncio``
    marker, so they run in pytest-asyncio's default strict mode as well as with ``asyncio_mode = "auto"``."""

    pytestmark = [pytest.mark.conformance, pytest.mark.asyncio]  # noqa: RUF012  - the form pytest reads


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def conversation(
    customer: str = "c1",
    *,
    business: str = "bn1",
    opened: float = 0,
    agent: str | None = None,
    pending_since: float | None = None,
    cid: str | None = None,
) -> Conversation:
    c = Conversation.open(
        id=cid or f"conv-{next(_ids)}", business_number_id=business, customer_id=customer, now=at(opened)
    )
    if agent is not None:
        return c.assign_to(agent, at(opened))
    return c.release(at(opened if pending_since is None else pending_since))


def message(conv: Conversation, external_id: str, *, minute: float = 0, delivered_to: str | None = None) -> Message:
    return Message(
        id=f"msg-{next(_ids)}",
        conversation_id=conv.id,
        business_number_id=conv.business_number_id,
        external_id=external_id,
        direction=MessageDirection.INBOUND,
        kind="text",
        text=f"text of {external_id}",
        received_at=at(minute),
        sent_at=at(minute),
        delivered_to=delivered_to,
    )


def pending(msg: Message, *, minute: float = 0) -> PendingMessage:
    return PendingMessage(
        id=f"pend-{next(_ids)}", conversation_id=msg.conversation_id, message_id=msg.id, enqueued_at=at(minute)
    )


async def write(uow_factory: UnitOfWorkFactory, action: Callable[[UnitOfWork], Awaitable[object]]) -> None:
    """Run ``action`` in a unit of work and commit it."""
    async with uow_factory() as uow:
        await action(uow)
        await uow.commit()


async def expect_conflict(uow_factory: UnitOfWorkFactory, action: Callable[[UnitOfWork], Awaitable[object]]) -> None:
    """``action`` + commit must raise ConcurrencyConflict, either from the write or from the commit."""
    with pytest.raises(ConcurrencyConflict):
        async with uow_factory() as uow:
            await action(uow)
            await uow.commit()
