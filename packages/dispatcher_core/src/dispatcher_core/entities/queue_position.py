"""An agent's place in the round-robin queue (seed: ``queue-position.entity.ts``)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["QueuePosition"]


@dataclass(frozen=True, slots=True)
class QueuePosition:
    """``position`` is 1 for the head of the queue (the next agent to be offered work)."""

    agent_id: str
    position: int
