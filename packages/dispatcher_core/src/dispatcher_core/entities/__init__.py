"""Plain domain objects. Immutable: every transition returns a new value, the old one is untouched."""

from dispatcher_core.entities.agent_presence import AgentPresence, PresenceStatus
from dispatcher_core.entities.api_key import ApiKey, ApiKeyScope
from dispatcher_core.entities.conversation import Conversation, ConversationStatus
from dispatcher_core.entities.message import IncomingMessage, Message, MessageDirection
from dispatcher_core.entities.pending_message import PendingMessage
from dispatcher_core.entities.queue_position import QueuePosition

__all__ = [
    "AgentPresence",
    "ApiKey",
    "ApiKeyScope",
    "Conversation",
    "ConversationStatus",
    "IncomingMessage",
    "Message",
    "MessageDirection",
    "PendingMessage",
    "PresenceStatus",
    "QueuePosition",
]
