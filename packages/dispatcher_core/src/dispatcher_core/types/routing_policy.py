"""How the next agent is picked among the online agents with spare capacity (rule 2)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["RoutingPolicy"]


class RoutingPolicy(StrEnum):
    """``round_robin`` (the seed's rule, the default): the first agent from the head of the queue; it then
    moves to the end, so agents online together differ by at most one new assignment (I4).

    ``least_busy``: the agent carrying the fewest open conversations, ties going to the one nearest the head
    (so equally busy agents still take turns). It balances load rather than new assignments - I4 does not hold
    under it - and reads the whole queue instead of its head.
    """

    ROUND_ROBIN = "round_robin"
    LEAST_BUSY = "least_busy"
