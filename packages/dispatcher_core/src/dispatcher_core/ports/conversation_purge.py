"""Retention: closed conversations are deleted, with everything they hold, once they are old enough."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

__all__ = ["ConversationPurge"]


class ConversationPurge(Protocol):
    async def purge_closed(self, closed_before: datetime, *, limit: int = 100) -> int:
        """Delete up to ``limit`` conversations closed before ``closed_before`` - each with its messages, their
        deduplication keys and its outbound messages (outbox entries), all or nothing per conversation - and
        return how many were deleted. Open conversations, and conversations closed at or after the cutoff,
        are never touched. Safe to run from several instances at once (a conversation is deleted once; the
        scheduler also runs the job once per slot). Driver failures surface as
        :class:`~dispatcher_core.errors.StoreUnavailable`."""
        ...
