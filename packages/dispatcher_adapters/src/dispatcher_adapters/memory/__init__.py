"""In-memory adapters for every port: one process, no persistence, fully correct.

Used by the simulator, the demo and as the reference in the conformance suite. ``MemoryStore`` holds the
state; ``MemoryStore.unit_of_work()`` is a :class:`~dispatcher_core.ports.UnitOfWorkFactory`.
"""

from dispatcher_adapters.memory.api_keys import MemoryApiKeys
from dispatcher_adapters.memory.clock import SystemClock
from dispatcher_adapters.memory.event_bus import MemoryEventBus
from dispatcher_adapters.memory.event_transport import MemoryEventSubscriber, MemoryEventTransport
from dispatcher_adapters.memory.media import MemoryMediaIndex
from dispatcher_adapters.memory.outbox import MemoryOutbox
from dispatcher_adapters.memory.purge import MemoryPurge
from dispatcher_adapters.memory.store import MemoryStore, MemoryUnitOfWork
from dispatcher_adapters.memory.templates import MemoryTemplateCatalogue
from dispatcher_adapters.memory.throughput import MemoryThroughput

__all__ = [
    "MemoryApiKeys",
    "MemoryEventBus",
    "MemoryEventSubscriber",
    "MemoryEventTransport",
    "MemoryMediaIndex",
    "MemoryOutbox",
    "MemoryPurge",
    "MemoryStore",
    "MemoryTemplateCatalogue",
    "MemoryThroughput",
    "MemoryUnitOfWork",
    "SystemClock",
]
