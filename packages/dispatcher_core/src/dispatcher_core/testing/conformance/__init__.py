"""Conformance suites: one per port, as pytest test classes any adapter's tests subclass.

Usage, in an adapter's test module::

    class TestMyStore(StoreConformance):
        @pytest.fixture
        async def uow_factory(self) -> AsyncIterator[UnitOfWorkFactory]:
            store = await MyStore.create(...)       # a fresh, empty store
            yield store.unit_of_work
            await store.close()

An adapter is done when it passes the suite. Requires the ``testing`` extra (pytest, pytest-asyncio); the
``dispatcher_core`` pytest plugin, registered by that install, turns on assertion rewriting for these modules
(failures show the compared values) and registers the ``conformance`` marker. The tests carry their own
``asyncio`` marker: no ``asyncio_mode`` setting is needed (in pytest-asyncio's default strict mode, declare an
async ``uow_factory`` fixture with ``@pytest_asyncio.fixture``). See docs/testing.md for the per-port
("my adapter for one port, yours for the rest") pattern.
"""

from dispatcher_core.testing._extra import require_testing_extra

require_testing_extra("dispatcher_core.testing.conformance", "pytest", "pytest_asyncio")

# The imports below need pytest (E402: they must follow the check above).

from dispatcher_core.testing.conformance.api_key_repository import ApiKeyRepositoryConformance  # noqa: E402
from dispatcher_core.testing.conformance.conversation_purge import ConversationPurgeConformance  # noqa: E402
from dispatcher_core.testing.conformance.conversation_repository import ConversationRepositoryConformance  # noqa: E402
from dispatcher_core.testing.conformance.event_transport import (  # noqa: E402
    EventProbe,
    EventTransportConformance,
    EventTransportHarness,
)
from dispatcher_core.testing.conformance.media_index import MediaIndexConformance  # noqa: E402
from dispatcher_core.testing.conformance.outbox_repository import OutboxConformance  # noqa: E402
from dispatcher_core.testing.conformance.pending_store import PendingStoreConformance  # noqa: E402
from dispatcher_core.testing.conformance.presence_repository import PresenceRepositoryConformance  # noqa: E402
from dispatcher_core.testing.conformance.queue_repository import QueueRepositoryConformance  # noqa: E402
from dispatcher_core.testing.conformance.slot_claims import SlotClaimsConformance  # noqa: E402
from dispatcher_core.testing.conformance.template_catalogue import TemplateCatalogueConformance  # noqa: E402
from dispatcher_core.testing.conformance.throughput import ThroughputReservationsConformance  # noqa: E402
from dispatcher_core.testing.conformance.unit_of_work import UnitOfWorkConformance  # noqa: E402

__all__ = [
    "ApiKeyRepositoryConformance",
    "ConversationPurgeConformance",
    "ConversationRepositoryConformance",
    "EventProbe",
    "EventTransportConformance",
    "EventTransportHarness",
    "MediaIndexConformance",
    "OutboxConformance",
    "PendingStoreConformance",
    "PresenceRepositoryConformance",
    "QueueRepositoryConformance",
    "SlotClaimsConformance",
    "StoreConformance",
    "TemplateCatalogueConformance",
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
