"""The outbox: every outbound message, persisted before it is attempted (docs/whatsapp-sender.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from dispatcher_core.messaging.outbound import OutboundMessage, OutboundStatus

__all__ = ["OutboxCount", "OutboxRepository"]


@dataclass(frozen=True, slots=True)
class OutboxCount:
    """How many messages of one template (``None``: text messages) are in one status."""

    template_name: str | None
    status: OutboundStatus
    count: int


class OutboxRepository(Protocol):
    """The outbox is part of the store: every unit of work has one (``uow.outbox``), so an outbound message is
    written in the same transaction as the conversation it belongs to (DESIGN I9, no dual write). Through a
    unit of work, writes apply at ``commit`` or not at all and reads see the unit of work's own writes; a
    conflict may be reported by the write itself or by ``commit``. Outside a unit of work,
    :class:`~dispatcher_core.messaging.outbox_store.UnitOfWorkOutbox` runs each call in one unit of work of
    its own: then ``add`` or ``save`` returning means the message is durable.

    Concurrency contract: ``save`` is a compare-and-set on ``version`` (several instances may race on the same
    message: a sender finishing while a status webhook or a recovery job updates it). Exactly one of two
    concurrent saves of the same version succeeds; the other raises
    :class:`~dispatcher_core.errors.ConcurrencyConflict` and changes nothing. The store enforces the unique
    keys: ``id``, ``wamid`` when set, (``agent_id``, ``client_id``) when ``client_id`` is set.
    Driver failures surface as :class:`~dispatcher_core.errors.StoreUnavailable`.
    """

    async def add(self, message: OutboundMessage) -> OutboundMessage:
        """Store a new message (its ``version`` is 0) and return it.

        Idempotent on (``agent_id``, ``client_id``): if a message with the same pair exists, nothing is stored
        and that existing message is returned (the caller compares ids to know). An existing ``id`` raises
        :class:`~dispatcher_core.errors.ConcurrencyConflict`. Two units of work adding the same pair at once:
        one commits, the other gets ``ConcurrencyConflict`` (from the write or the commit) or the first's
        message; retried, it finds the first's message.
        """
        ...

    async def get(self, reference: str) -> OutboundMessage | None:
        """The message whose ``id`` (our ``biz_opaque_callback_data``) is ``reference``."""
        ...

    async def get_by_wamid(self, wamid: str) -> OutboundMessage | None:
        """The message Meta knows as ``wamid``."""
        ...

    async def get_by_client_id(self, agent_id: str, client_id: str) -> OutboundMessage | None:
        """The message an agent sent with that ``client_id``."""
        ...

    async def save(self, message: OutboundMessage) -> OutboundMessage:
        """Replace the stored message if its version still equals ``message.version``; return the stored copy
        (``version + 1``). Otherwise :class:`~dispatcher_core.errors.ConcurrencyConflict`; an unknown id raises
        :class:`~dispatcher_core.errors.NotFound`."""
        ...

    async def list_by_status(
        self, status: OutboundStatus, *, updated_before: datetime | None = None, limit: int = 100
    ) -> Sequence[OutboundMessage]:
        """Messages in ``status`` (last updated strictly before ``updated_before`` if given), oldest update
        first. Used by recovery after a crash."""
        ...

    async def list_due(self, now: datetime, *, limit: int = 100) -> Sequence[OutboundMessage]:
        """``queued`` messages that may be sent at ``now`` (``not_before`` unset or not after ``now``), in the
        order they became due (``not_before``, else ``created_at``; then ``id``): what a sender claims, with a
        compare-and-set to ``sending``."""
        ...

    async def list_by_conversation(self, conversation_id: str) -> Sequence[OutboundMessage]:
        """A conversation's outbound messages, oldest first."""
        ...

    async def count_created_between(self, start: datetime, end: datetime) -> Sequence[OutboxCount]:
        """Per (template, status), how many messages were created in [``start``, ``end``) (statistics).
        Only non-zero counts are listed."""
        ...
