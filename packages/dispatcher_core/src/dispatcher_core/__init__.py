"""dispatcher_core: the WhatsApp conversation dispatcher's domain, standard library only.

Public surface: the entities, the typed decisions, the ports, the services of the seed
(``QueueService``, ``AssignmentService``, ``PendingMessageService``, ``DispatcherScheduler``), the
``TimeoutPolicy`` and the ``DispatcherOrchestrator``. Importing this package performs no I/O.
"""

from dispatcher_core.entities import (
    AgentPresence,
    Conversation,
    ConversationStatus,
    IncomingMessage,
    Message,
    MessageDirection,
    PendingMessage,
    PresenceStatus,
    QueuePosition,
)
from dispatcher_core.orchestrator import (
    ConversationDetail,
    DispatcherOrchestrator,
    DispatcherQueries,
    DistributionResult,
    IncomingOutcome,
    PendingConversation,
    QueueEntry,
    TimeoutResult,
)
from dispatcher_core.services.assignment import AssignmentService
from dispatcher_core.services.pending import PendingMessageService
from dispatcher_core.services.queue import QueueService
from dispatcher_core.services.scheduler import DispatcherScheduler
from dispatcher_core.services.timeout import TimeoutPolicy
from dispatcher_core.settings import DispatcherSettings
from dispatcher_core.types import (
    AssignmentDecision,
    AssignNewAgent,
    CloseConversation,
    KeepCurrentAgent,
    NoTimeoutAction,
    Pending,
    ReassignConversation,
    RoutingPolicy,
    TimeoutDecision,
)

__all__ = [
    "AgentPresence",
    "AssignNewAgent",
    "AssignmentDecision",
    "AssignmentService",
    "CloseConversation",
    "Conversation",
    "ConversationDetail",
    "ConversationStatus",
    "DispatcherOrchestrator",
    "DispatcherQueries",
    "DispatcherScheduler",
    "DispatcherSettings",
    "DistributionResult",
    "IncomingMessage",
    "IncomingOutcome",
    "KeepCurrentAgent",
    "Message",
    "MessageDirection",
    "NoTimeoutAction",
    "Pending",
    "PendingConversation",
    "PendingMessage",
    "PendingMessageService",
    "PresenceStatus",
    "QueueEntry",
    "QueuePosition",
    "QueueService",
    "ReassignConversation",
    "RoutingPolicy",
    "TimeoutDecision",
    "TimeoutPolicy",
    "TimeoutResult",
]
