"""The decision returned by ``AssignmentService`` (seed: ``assignment-decision.type.ts``).

Exactly ``KEEP_CURRENT_AGENT(agent_id) | ASSIGN_NEW_AGENT(agent_id) | PENDING``::

    match decision:
        case KeepCurrentAgent(agent_id=agent_id): ...
        case AssignNewAgent(agent_id=agent_id): ...
        case Pending(): ...
        case _: assert_never(decision)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["AssignNewAgent", "AssignmentDecision", "KeepCurrentAgent", "Pending"]


@dataclass(frozen=True, slots=True)
class KeepCurrentAgent:
    """The conversation stays with the agent who has it."""

    agent_id: str
    type: Literal["KEEP_CURRENT_AGENT"] = "KEEP_CURRENT_AGENT"


@dataclass(frozen=True, slots=True)
class AssignNewAgent:
    """The conversation goes to ``agent_id``, the next agent of the round-robin."""

    agent_id: str
    type: Literal["ASSIGN_NEW_AGENT"] = "ASSIGN_NEW_AGENT"


@dataclass(frozen=True, slots=True)
class Pending:
    """Nobody can take the conversation now: its messages wait as pending messages."""

    type: Literal["PENDING"] = "PENDING"


AssignmentDecision = KeepCurrentAgent | AssignNewAgent | Pending
