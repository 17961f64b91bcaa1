"""One repository per port, all running their statements in the unit of work's :class:`Transaction`."""

from dispatcher_adapters.sql.repositories.conversations import SqlConversationRepository
from dispatcher_adapters.sql.repositories.outbox import SqlOutboxRepository
from dispatcher_adapters.sql.repositories.pending import SqlPendingStore
from dispatcher_adapters.sql.repositories.presence import SqlPresenceRepository
from dispatcher_adapters.sql.repositories.queue import SqlQueueRepository
from dispatcher_adapters.sql.repositories.slots import SqlSlotClaims

__all__ = [
    "SqlConversationRepository",
    "SqlOutboxRepository",
    "SqlPendingStore",
    "SqlPresenceRepository",
    "SqlQueueRepository",
    "SqlSlotClaims",
]
