"""Typed business decisions. Each is a closed union of frozen dataclasses with a ``type`` literal,
consumed with ``match`` and ``typing.assert_never``."""

from dispatcher_core.types.assignment_decision import (
    AssignmentDecision,
    AssignNewAgent,
    KeepCurrentAgent,
    Pending,
)
from dispatcher_core.types.routing_policy import RoutingPolicy
from dispatcher_core.types.timeout_decision import (
    CloseConversation,
    NoTimeoutAction,
    ReassignConversation,
    TimeoutDecision,
)

__all__ = [
    "AssignNewAgent",
    "AssignmentDecision",
    "CloseConversation",
    "KeepCurrentAgent",
    "NoTimeoutAction",
    "Pending",
    "ReassignConversation",
    "RoutingPolicy",
    "TimeoutDecision",
]
