"""The round-robin order of online agents."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

__all__ = ["QueueRepository"]


class QueueRepository(Protocol):
    """An ordered set of agent ids, head first.

    Concurrency contract: within one unit of work the queue is read and changed as if no other unit of work
    ran at the same time (adapters serialize queue access, e.g. a transaction-scoped lock, or check at commit
    that the queue did not change since it was read and raise ``ConcurrencyConflict``). This is what keeps the
    rotation fair across instances (I4): two instances can never both hand work to the same head.
    """

    async def list(self) -> Sequence[str]:
        """The agent ids, head first."""
        ...

    async def head(self, limit: int) -> Sequence[str]:
        """The first ``limit`` agent ids, head first: what picking the next agent reads, so its cost does not
        grow with the number of agents online."""
        ...

    async def add(self, agent_id: str) -> bool:
        """Append at the end; ``False`` (order unchanged) if already queued."""
        ...

    async def remove(self, agent_id: str) -> bool:
        """Remove; ``False`` if not queued."""
        ...

    async def move_to_end(self, agent_id: str) -> bool:
        """Move to the end; ``False`` (nothing changed) if not queued."""
        ...
