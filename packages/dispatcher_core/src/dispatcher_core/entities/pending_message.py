"""A message waiting for an agent (seed: ``pending-message.entity.ts``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["PendingMessage"]


@dataclass(frozen=True, slots=True)
class PendingMessage:
    """A customer message kept while its conversation has no agent. Durable, kept in arrival order."""

    id: str
    conversation_id: str
    message_id: str
    enqueued_at: datetime
