from dispatcher_core.orchestrator.dispatcher_orchestrator import (
    AgentReply,
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
    "AgentReply",
    "ConversationDetail",
    "DispatcherOrchestrator",
    "DispatcherQueries",
    "DistributionResult",
    "IncomingOutcome",
    "PendingConversation",
    "QueueEntry",
    "TimeoutResult",
]
