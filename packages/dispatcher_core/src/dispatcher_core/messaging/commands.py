"""Commands of the sending side (seed phase 2): what a caller asks for, validated on construction.

Each command is a ``Command[R]``, ``R`` being what its handler returns, so
:meth:`~dispatcher_core.messaging.command_bus.CommandBus.dispatch` is typed end to end. A command that could
not be built changes nothing: bad input is refused before anything is queued.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from dispatcher_core.messaging.errors import InvalidMessage
from dispatcher_core.messaging.outbound import OutboundMessage
from dispatcher_core.messaging.template import TemplateMessage
from dispatcher_core.messaging.validation import TemplateMessageValidator, validate_recipient, validate_text_body

__all__ = [
    "MAX_BULK_RECIPIENTS",
    "BulkJob",
    "BulkProgress",
    "BulkSendTemplate",
    "Command",
    "SendTemplateMessage",
    "SendTextMessage",
]

R_co = TypeVar("R_co", covariant=True)

#: One bulk send names at most this many recipients; bigger campaigns are split by the caller.
MAX_BULK_RECIPIENTS = 10_000


class Command(Generic[R_co]):
    """Base of every command; ``R_co`` is the result type of its handler."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class SendTextMessage(Command[OutboundMessage]):
    """Send a free-form text (allowed inside the 24 h customer-service window). ``business_number_id`` is the
    phone number to send from (the sender's default when ``None``); ``conversation_id``, ``agent_id`` and
    ``client_id`` tie an agent's reply to its conversation and make it idempotent. ``reference`` is the outbox
    id to use (generated when ``None``): a caller that sets it can tell whether the returned message is the
    one it asked for or an earlier one with the same ``client_id``."""

    to: str
    text: str
    business_number_id: str | None = None
    conversation_id: str | None = None
    agent_id: str | None = None
    client_id: str | None = None
    preview_url: bool = False
    reference: str | None = None

    def __post_init__(self) -> None:
        validate_recipient(self.to)
        validate_text_body(self.text)


@dataclass(frozen=True, slots=True)
class SendTemplateMessage(Command[OutboundMessage]):
    """Send an approved template (allowed at any time)."""

    to: str
    template: TemplateMessage
    business_number_id: str | None = None
    conversation_id: str | None = None
    agent_id: str | None = None
    client_id: str | None = None
    reference: str | None = None

    def __post_init__(self) -> None:
        validate_recipient(self.to)
        TemplateMessageValidator().validate(self.template)


@dataclass(frozen=True, slots=True)
class BulkJob:
    """A bulk send accepted and running in the background; follow it with its ``id``."""

    id: str
    total: int


@dataclass(frozen=True, slots=True)
class BulkProgress:
    """Where a bulk send is. ``queued`` messages are persisted and wait for their turn; ``failures_by_code``
    counts failures by Graph error code, ``no_code`` (server or transport trouble, circuit open) or
    ``cancelled``."""

    job_id: str
    total: int
    queued: int
    sent: int
    failed: int
    unknown: int
    started_at: datetime
    finished_at: datetime | None = None
    cancelled: bool = False
    failures_by_code: Mapping[str, int] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.finished_at is not None


@dataclass(frozen=True, slots=True)
class BulkSendTemplate(Command[BulkJob]):
    """Send one template to many recipients, in the background, with bounded concurrency and within the
    number's throughput. Recipients must be distinct: the same customer twice is almost always a mistake and
    would be sent twice."""

    recipients: tuple[str, ...]
    template: TemplateMessage
    business_number_id: str | None = None

    def __post_init__(self) -> None:
        if not self.recipients:
            raise InvalidMessage("recipients", f"1 to {MAX_BULK_RECIPIENTS} recipients", "is empty")
        if len(self.recipients) > MAX_BULK_RECIPIENTS:
            raise InvalidMessage(
                "recipients", f"{MAX_BULK_RECIPIENTS} recipients", f"has {len(self.recipients)} recipients"
            )
        seen: dict[str, int] = {}
        for index, recipient in enumerate(self.recipients):
            validate_recipient(recipient, f"recipients[{index}]")
            if recipient in seen:
                raise InvalidMessage(
                    f"recipients[{index}]", "each recipient once", f"repeats recipients[{seen[recipient]}]"
                )
            seen[recipient] = index
        TemplateMessageValidator().validate(self.template)
