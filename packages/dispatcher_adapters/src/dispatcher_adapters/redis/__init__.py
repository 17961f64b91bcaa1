"""Redis adapters: every port of the core on Redis (redis-py asyncio), and cross-instance events.

* :class:`RedisStore` - the store; ``RedisStore(client, prefix=...).unit_of_work`` is the
  :class:`~dispatcher_core.ports.UnitOfWorkFactory`. Optimistic units of work committed by one Lua script.
* :class:`RedisEventPublisher` / :class:`RedisEventSubscriber` - the
  :class:`~dispatcher_core.ports.EventPublisher` over pub/sub, with a per-agent sequence number, gap
  detection and resynchronisation after a lost connection.
* :func:`create_client` - a redis-py client configured as these adapters expect (retries, decoding).
* :func:`delete_prefix` - remove every key of one prefix (a tenant, a test run).

Key layout, scripts and round trips: docs/storage-redis.md. Persistence needed in Redis-only mode:
docs/operations.md. Importing this package does no I/O.
"""

from dispatcher_adapters.redis.api_keys import RedisApiKeys
from dispatcher_adapters.redis.client import create_client
from dispatcher_adapters.redis.keys import RedisKeys
from dispatcher_adapters.redis.maintenance import delete_prefix
from dispatcher_adapters.redis.media import RedisMediaIndex
from dispatcher_adapters.redis.publisher import RedisEventPublisher
from dispatcher_adapters.redis.purge import RedisPurge
from dispatcher_adapters.redis.store import RedisStore
from dispatcher_adapters.redis.subscriber import EventEnvelope, RedisEventSubscriber
from dispatcher_adapters.redis.templates import RedisTemplateCatalogue
from dispatcher_adapters.redis.throughput import RedisThroughput
from dispatcher_adapters.redis.unit_of_work import RedisUnitOfWork

__all__ = [
    "EventEnvelope",
    "RedisApiKeys",
    "RedisEventPublisher",
    "RedisEventSubscriber",
    "RedisKeys",
    "RedisMediaIndex",
    "RedisPurge",
    "RedisStore",
    "RedisTemplateCatalogue",
    "RedisThroughput",
    "RedisUnitOfWork",
    "create_client",
    "delete_prefix",
]
