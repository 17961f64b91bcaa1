"""The decision returned by ``TimeoutPolicy`` for one conversation (rules 6 and 7)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["CloseConversation", "NoTimeoutAction", "ReassignConversation", "TimeoutDecision"]


@dataclass(frozen=True, slots=True)
class ReassignConversation:
    """Rule 6: ``agent_id`` let the customer wait past the response timeout; the conversation leaves them."""

    agent_id: str
    type: Literal["REASSIGN"] = "REASSIGN"


@dataclass(frozen=True, slots=True)
class CloseConversation:
    """Rule 7: nothing happened either way for the inactivity timeout and nothing is unanswered."""

    reason: str = "inactivity"
    type: Literal["CLOSE"] = "CLOSE"


@dataclass(frozen=True, slots=True)
class NoTimeoutAction:
    """No deadline has passed."""

    type: Literal["NOTHING"] = "NOTHING"


TimeoutDecision = ReassignConversation | CloseConversation | NoTimeoutAction
