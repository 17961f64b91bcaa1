"""Whether an agent is connected, across every socket and every app instance."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from dispatcher_core.entities._evolve import evolve

__all__ = ["AgentPresence", "PresenceStatus"]


class PresenceStatus(enum.StrEnum):
    ONLINE = "online"
    #: The last socket closed; the agent keeps their conversations until ``grace_until`` (rule 4).
    GRACE = "grace"
    OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class AgentPresence:
    """Presence of one agent. Several sockets (``connections``) count as one presence (rule 3)."""

    agent_id: str
    status: PresenceStatus
    changed_at: datetime
    connections: frozenset[str] = frozenset()
    grace_until: datetime | None = None
    version: int = 0

    @classmethod
    def offline(cls, agent_id: str, now: datetime) -> AgentPresence:
        return cls(agent_id=agent_id, status=PresenceStatus.OFFLINE, changed_at=now)

    def connect(self, connection_id: str, now: datetime) -> AgentPresence:
        changed = self.status is not PresenceStatus.ONLINE
        return evolve(
            self,
            status=PresenceStatus.ONLINE,
            connections=self.connections | {connection_id},
            grace_until=None,
            changed_at=now if changed else self.changed_at,
        )

    def disconnect(self, connection_id: str, now: datetime, grace_until: datetime) -> AgentPresence:
        remaining = self.connections - {connection_id}
        if remaining or self.status is not PresenceStatus.ONLINE:
            return evolve(self, connections=remaining)
        return evolve(self, status=PresenceStatus.GRACE, connections=remaining, grace_until=grace_until, changed_at=now)

    def go_offline(self, now: datetime) -> AgentPresence:
        return evolve(self, status=PresenceStatus.OFFLINE, connections=frozenset(), grace_until=None, changed_at=now)

    def with_version(self, version: int) -> AgentPresence:
        """The same presence as stored at ``version`` (for repositories)."""
        return evolve(self, version=version)
