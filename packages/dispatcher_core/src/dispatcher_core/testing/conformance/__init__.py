"""Conformance suites: one per port, as pytest test classes any adapter's tests subclass.

Usage, in an adapter's test module::

    class TestMyStore(StoreConformance):
        @pytest.fixture
        async def uow_factory(self) -> AsyncIterator[UnitOfWorkFactory]:
            store = await MyStore.create(...)       # a fresh, empty store
            yield store.unit_of_work
            await store.close()

An adapter is done when it passes the suite. Requires the ``testing`` extra (pytest, pytest-asyncio).
"""

from dispatcher_core.testing.conformance.conversation_purge import ConversationPurgeConformance
from dispatcher_core.testing.conformance.conversation_repository import ConversationRepositoryConformance
from dispatcher_core.testing.conformance.outbox_repository import OutboxConformance
from dispatcher_core.testing.conformance.pending_store import PendingStoreConformance
from dispatcher_core.testing.conformance.presence_repository import PresenceRepositoryConformance
from dispatcher_core.testing.conformance.queue_repository import QueueRepositoryConformance
from dispatcher_core.testing.conformance.slot_claims import SlotClaimsConformance
from dispatcher_core.testing.conformance.throughput import ThroughputReservationsConformance
from dispatcher_core.testing.conformance.unit_of_work import UnitOfWorkConformance

__all__ = [
    "ConversationPurgeConformance",
    "ConversationRepositoryConformance",
    "OutboxConformance",
    "PendingStoreConformance",
    "PresenceRepositoryConformance",
    "QueueRepositoryConformance",
    "SlotClaimsConformance",
    "StoreConformance",
    "ThroughputReservationsConformance",
    "UnitOfWorkConformance",
]


class StoreConformance(
    ConversationRepositoryConformance,
    PendingStoreConformance,
    QueueRepositoryConformance,
    PresenceRepositoryConformance,
    SlotClaimsConformance,
    UnitOfWorkConformance,
    OutboxConformance,
):
    """Every port of a store behind one unit of work: subclass this and provide ``uow_factory``."""
