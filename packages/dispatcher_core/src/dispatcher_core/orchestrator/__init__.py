from dispatcher_core.orchestrator.dispatcher_orchestrator import (
    DispatcherOrchestrator,
    DistributionResult,
    IncomingOutcome,
    TimeoutResult,
)
from dispatcher_core.orchestrator.queries import (
    ConversationDetail,
    DispatcherQueries,
    PendingConversation,
    QueueEntry,
)

__all__ = [
    "ConversationDetail",
    "DispatcherOrchestrator",
    "DispatcherQueries",
    "DistributionResult",
    "IncomingOutcome",
    "PendingConversation",
    "QueueEntry",
    "TimeoutResult",
]
