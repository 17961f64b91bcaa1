"""Agent presence, shared by every app instance."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from dispatcher_core.entities import AgentPresence, PresenceStatus

__all__ = ["PresenceRepository"]


class PresenceRepository(Protocol):
    """Concurrency contract: ``save`` is a compare-and-set on ``version`` like conversations."""

    async def get(self, agent_id: str) -> AgentPresence | None: ...

    async def save(self, presence: AgentPresence) -> None:
        """Store ``presence`` if the stored version equals ``presence.version`` (absent counts as 0);
        the stored copy has ``version + 1``. Otherwise ``ConcurrencyConflict`` (now or at commit)."""
        ...

    async def list(self, status: PresenceStatus | None = None) -> Sequence[AgentPresence]:
        """Every known agent's presence (or only those with ``status``), ordered by agent id."""
        ...
