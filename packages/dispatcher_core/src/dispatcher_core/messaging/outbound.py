"""The outbox entity: one message we send, persisted before it is attempted.

Its ``id`` is our own reference, sent to Meta as ``biz_opaque_callback_data`` and echoed in every status
webhook, so a send whose answer was lost can still be matched to its outcome. States::

    queued  -> sending           about to make the request
    sending -> sent              Meta accepted it (its wamid is known)
    sending -> failed            the API refused it: certainly not sent
    sending -> unknown           no answer: maybe sent; reconciled from a status webhook
    sending -> queued            refused before reaching Meta (circuit open): not sent
    queued  -> failed            cancelled before any attempt, or the customer's 24 h window closed first
    recorded                     no WhatsApp configured: stored in the conversation, never sent
    sent -> delivered -> read    status webhooks; ``unknown`` may jump to sent, delivered, read or failed
    sent    -> failed            a status webhook reports a late failure

``sending`` is written before the request goes out; a process that crashes mid-send leaves it there, and
recovery turns it into ``unknown`` rather than sending it again. Nothing ever goes back from a later state to
an earlier one: webhooks may arrive late, twice or out of order, and a stale one changes nothing.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime

from dispatcher_core.errors import InvalidInput
from dispatcher_core.messaging.error_codes import GraphError
from dispatcher_core.messaging.errors import InvalidTransition
from dispatcher_core.messaging.template import TemplateMessage
from dispatcher_core.messaging.validation import validate_recipient, validate_text_body

__all__ = ["Content", "OutboundMessage", "OutboundStatus", "TextContent"]


class OutboundStatus(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    UNKNOWN = "unknown"
    #: Stored without being sent (no WhatsApp configured: the demo, offline tests). Final.
    RECORDED = "recorded"

    @property
    def accepted(self) -> bool:
        """Whether Meta has (or may have) taken the message: the send itself is over and must not be redone."""
        return self in _ACCEPTED


_ACCEPTED = frozenset({OutboundStatus.SENT, OutboundStatus.DELIVERED, OutboundStatus.READ, OutboundStatus.UNKNOWN})
#: How far along a message is; webhooks only ever move it forward.
_RANK = {
    OutboundStatus.QUEUED: 0,
    OutboundStatus.RECORDED: 0,
    OutboundStatus.SENDING: 1,
    OutboundStatus.UNKNOWN: 1,
    OutboundStatus.SENT: 2,
    OutboundStatus.DELIVERED: 3,
    OutboundStatus.READ: 4,
}
#: States from which a status webhook saying ``failed`` is believed.
_MAY_FAIL = frozenset({OutboundStatus.SENDING, OutboundStatus.UNKNOWN, OutboundStatus.SENT})


@dataclass(frozen=True, slots=True)
class TextContent:
    body: str
    preview_url: bool = False

    def __post_init__(self) -> None:
        validate_text_body(self.body)


Content = TextContent | TemplateMessage


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One outbound message. ``version`` is the repository's compare-and-set counter (see
    :class:`~dispatcher_core.ports.outbox_repository.OutboxRepository`). ``client_id`` is the agent's own id
    for a reply, which makes a resent ``reply`` frame idempotent."""

    id: str
    business_number_id: str
    to: str
    content: Content
    status: OutboundStatus
    created_at: datetime
    updated_at: datetime
    conversation_id: str | None = None
    agent_id: str | None = None
    client_id: str | None = None
    bulk_id: str | None = None
    wamid: str | None = None
    attempts: int = 0
    error_code: int | None = None
    error_title: str | None = None
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    read_at: datetime | None = None
    failed_at: datetime | None = None
    #: A ``queued`` message is not sent before this time (the backoff after Graph was unavailable).
    not_before: datetime | None = None
    version: int = 0

    @classmethod
    def queue(
        cls,
        *,
        id: str,
        business_number_id: str,
        to: str,
        content: Content,
        now: datetime,
        conversation_id: str | None = None,
        agent_id: str | None = None,
        client_id: str | None = None,
        bulk_id: str | None = None,
        status: OutboundStatus = OutboundStatus.QUEUED,
    ) -> OutboundMessage:
        """A new message, ``queued`` (or ``recorded``: kept, never sent). The content was validated when it
        was built."""
        if status not in (OutboundStatus.QUEUED, OutboundStatus.RECORDED):
            raise InvalidInput(f"outbound message: a new message is queued or recorded, not {status}")
        if not id or len(id) > 512:
            raise InvalidInput("outbound message: id must be 1 to 512 characters (Meta's callback data limit)")
        if not business_number_id:
            raise InvalidInput("outbound message: business_number_id must be a non-empty string")
        if status is OutboundStatus.QUEUED:
            validate_recipient(to)  # a recorded message is never sent: any customer id (simulators) will do
        elif not to:
            raise InvalidInput("outbound message: to must be a non-empty string")
        if client_id is not None and agent_id is None:
            raise InvalidInput("outbound message: a client_id belongs to an agent, agent_id is missing")
        return cls(
            id=id,
            business_number_id=business_number_id,
            to=to,
            content=content,
            status=status,
            created_at=now,
            updated_at=now,
            conversation_id=conversation_id,
            agent_id=agent_id,
            client_id=client_id,
            bulk_id=bulk_id,
        )

    @property
    def kind(self) -> str:
        return "template" if isinstance(self.content, TemplateMessage) else "text"

    @property
    def template_name(self) -> str | None:
        return self.content.name if isinstance(self.content, TemplateMessage) else None

    def _move(self, allowed: frozenset[OutboundStatus], target: OutboundStatus) -> None:
        if self.status not in allowed:
            raise InvalidTransition(f"outbound message {self.id}: cannot go from {self.status} to {target}")

    def start_sending(self, now: datetime) -> OutboundMessage:
        """About to make the request: from here on, a crash means the outcome is unknown."""
        self._move(frozenset({OutboundStatus.QUEUED}), OutboundStatus.SENDING)
        return replace(self, status=OutboundStatus.SENDING, updated_at=now)

    def requeue(self, now: datetime, attempts: int, *, not_before: datetime | None = None) -> OutboundMessage:
        """The send did not happen (refused before reaching Meta, or Graph unavailable): back to ``queued``
        for a later try, not before ``not_before``."""
        self._move(frozenset({OutboundStatus.SENDING}), OutboundStatus.QUEUED)
        return replace(self, status=OutboundStatus.QUEUED, attempts=attempts, updated_at=now, not_before=not_before)

    def mark_sent(self, wamid: str, now: datetime, attempts: int) -> OutboundMessage:
        """Meta accepted it. A status webhook may have got here first: then only the wamid is filled in."""
        if not wamid:
            raise InvalidInput("mark_sent: wamid must be a non-empty string")
        if self.status in (OutboundStatus.SENDING, OutboundStatus.UNKNOWN):
            return replace(
                self, status=OutboundStatus.SENT, wamid=wamid, attempts=attempts, sent_at=now, updated_at=now
            )
        self._move(
            frozenset({OutboundStatus.SENT, OutboundStatus.DELIVERED, OutboundStatus.READ, OutboundStatus.FAILED}),
            OutboundStatus.SENT,
        )
        return replace(self, wamid=self.wamid or wamid, attempts=attempts, updated_at=now)

    def mark_failed(self, error: GraphError, now: datetime, attempts: int) -> OutboundMessage:
        """Certainly not sent (or, from a webhook, not delivered)."""
        self._move(_MAY_FAIL, OutboundStatus.FAILED)
        return replace(
            self,
            status=OutboundStatus.FAILED,
            attempts=attempts,
            error_code=error.code,
            error_title=error.title,
            failed_at=now,
            updated_at=now,
        )

    def cancel(self, now: datetime, reason: str) -> OutboundMessage:
        """Give up on a message that was never attempted (a cancelled bulk send): ``failed``, with no code."""
        self._move(frozenset({OutboundStatus.QUEUED}), OutboundStatus.FAILED)
        return replace(
            self, status=OutboundStatus.FAILED, error_code=None, error_title=reason, failed_at=now, updated_at=now
        )

    def mark_unknown(self, now: datetime, attempts: int) -> OutboundMessage:
        """The request may have reached Meta but no answer came. A webhook that already moved it on wins."""
        if self.status is not OutboundStatus.SENDING:
            self._move(_ACCEPTED | {OutboundStatus.FAILED}, OutboundStatus.UNKNOWN)
            return replace(self, attempts=attempts, updated_at=now)
        return replace(self, status=OutboundStatus.UNKNOWN, attempts=attempts, updated_at=now)

    def apply_status(
        self, status: OutboundStatus, at: datetime, *, wamid: str | None = None, error: GraphError | None = None
    ) -> OutboundMessage:
        """A status webhook. Returns ``self`` unchanged when it brings nothing new (duplicate, stale, out of
        order), so callers can compare identities to know whether to save."""
        wamid = self.wamid or wamid
        if status is OutboundStatus.FAILED:
            if self.status not in _MAY_FAIL:
                return self
            failure = error or GraphError(code=None, http_status=None, title="failed (status webhook)")
            failed = replace(self, wamid=wamid)
            return failed.mark_failed(failure, at, self.attempts)
        if status not in (OutboundStatus.SENT, OutboundStatus.DELIVERED, OutboundStatus.READ):
            raise InvalidInput(f"apply_status: {status} is not a webhook status (sent, delivered, read, failed)")
        if self.status is OutboundStatus.RECORDED:
            return self  # never sent: Meta cannot know it
        if self.status is OutboundStatus.FAILED or _RANK[self.status] >= _RANK[status]:
            return self if wamid == self.wamid else replace(self, wamid=wamid, updated_at=at)
        reached = _RANK[status]
        return replace(
            self,
            status=status,
            wamid=wamid,
            updated_at=at,
            sent_at=self.sent_at or at,
            delivered_at=self.delivered_at or (at if reached >= _RANK[OutboundStatus.DELIVERED] else None),
            read_at=self.read_at or (at if reached >= _RANK[OutboundStatus.READ] else None),
        )
