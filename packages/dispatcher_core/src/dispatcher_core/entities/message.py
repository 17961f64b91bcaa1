"""Messages of a conversation, and the value the inbound edge hands to the orchestrator."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from dispatcher_core.entities._evolve import evolve
from dispatcher_core.entities.limits import (
    MAX_ID_LENGTH,
    MAX_KIND_LENGTH,
    MAX_NAME_LENGTH,
    MAX_TEXT_LENGTH,
    check_storable,
)
from dispatcher_core.errors import InvalidInput

__all__ = ["IncomingMessage", "Message", "MessageDirection"]


class MessageDirection(enum.StrEnum):
    INBOUND = "in"
    OUTBOUND = "out"


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    """A customer message as received from WhatsApp, already parsed at the edge.

    ``external_id`` is the WhatsApp message id (``wamid...``); it is unique per business number, which is
    what makes the webhook idempotent (invariant I2).

    Every field must be storable as it is (:mod:`~dispatcher_core.entities.limits`): no NUL character, valid
    Unicode, within its length limit. Otherwise :class:`InvalidInput` is raised and nothing is stored (I10).
    """

    business_number_id: str
    customer_id: str
    external_id: str
    kind: str = "text"
    text: str | None = None
    customer_name: str | None = None
    sent_at: datetime | None = None

    def __post_init__(self) -> None:
        for name in ("business_number_id", "customer_id", "external_id", "kind"):
            if not getattr(self, name):
                raise InvalidInput(f"incoming message: {name} must be a non-empty string")
        check_storable("incoming message: business_number_id", self.business_number_id, MAX_ID_LENGTH)
        check_storable("incoming message: customer_id", self.customer_id, MAX_ID_LENGTH)
        check_storable("incoming message: external_id", self.external_id, MAX_ID_LENGTH)
        check_storable("incoming message: kind", self.kind, MAX_KIND_LENGTH)
        check_storable("incoming message: text", self.text, MAX_TEXT_LENGTH)
        check_storable("incoming message: customer_name", self.customer_name, MAX_NAME_LENGTH)


@dataclass(frozen=True, slots=True)
class Message:
    """A stored message. ``delivered_to`` is the agent it went to, or ``None`` while it is pending (I2)."""

    id: str
    conversation_id: str
    business_number_id: str
    external_id: str
    direction: MessageDirection
    kind: str
    text: str | None
    received_at: datetime
    sent_at: datetime | None = None
    delivered_to: str | None = None

    def delivered(self, agent_id: str) -> Message:
        """This message as delivered to ``agent_id``."""
        return evolve(self, delivered_to=agent_id)
