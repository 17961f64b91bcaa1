"""Ports: what the core needs from the outside world, one ``typing.Protocol`` per module.

Adapters (``dispatcher_adapters``) implement them; the conformance suite in
:mod:`dispatcher_core.testing.conformance` is what says an adapter is correct.
"""

from dispatcher_core.ports.api_key_repository import ApiKeyRepository
from dispatcher_core.ports.clock import Clock
from dispatcher_core.ports.conversation_purge import ConversationPurge
from dispatcher_core.ports.conversation_repository import ConversationRepository
from dispatcher_core.ports.event_journal import EventJournal
from dispatcher_core.ports.event_publisher import EventPublisher
from dispatcher_core.ports.event_subscriber import AgentResync, EnvelopeHandler, EventEnvelope, EventSubscriber
from dispatcher_core.ports.media_index import MediaIndex
from dispatcher_core.ports.message_sender import MessageSender, SendReceipt
from dispatcher_core.ports.outbox_repository import OutboxCount, OutboxRepository
from dispatcher_core.ports.pending_store import PendingStore
from dispatcher_core.ports.presence_repository import PresenceRepository
from dispatcher_core.ports.queue_repository import QueueRepository
from dispatcher_core.ports.slot_claims import SlotClaims
from dispatcher_core.ports.template_catalogue import TemplateCatalogue
from dispatcher_core.ports.throughput_reservations import ThroughputReservations
from dispatcher_core.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

__all__ = [
    "AgentResync",
    "ApiKeyRepository",
    "Clock",
    "ConversationPurge",
    "ConversationRepository",
    "EnvelopeHandler",
    "EventEnvelope",
    "EventJournal",
    "EventPublisher",
    "EventSubscriber",
    "MediaIndex",
    "MessageSender",
    "OutboxCount",
    "OutboxRepository",
    "PendingStore",
    "PresenceRepository",
    "QueueRepository",
    "SendReceipt",
    "SlotClaims",
    "TemplateCatalogue",
    "ThroughputReservations",
    "UnitOfWork",
    "UnitOfWorkFactory",
]
