"""SQL adapters for every port of the core: SQLite (the embedded default) and PostgreSQL (the system of record
of a scaled deployment), both through SQLAlchemy 2 async Core - aiosqlite and asyncpg.

* :class:`SqlStore` - ``await SqlStore.create(url)``; ``store.unit_of_work`` is the
  :class:`~dispatcher_core.ports.UnitOfWorkFactory`; ``await store.ping()``; ``await store.close()``.
* :mod:`~dispatcher_adapters.sql.migrate` - ``upgrade(url)``, ``downgrade(url, revision)``,
  ``current_revision(url)`` (Alembic, migrations shipped inside this package).
* Events between instances on PostgreSQL alone: ``SqlStore.create(url, carry_events=True)`` writes each unit
  of work's events in its transaction and announces them with ``NOTIFY``; ``store.event_subscriber(...)``
  (:class:`PostgresEventSubscriber`) receives them on every instance (see :mod:`~dispatcher_adapters.sql.events`).
* Errors: driver failures become :class:`~dispatcher_core.errors.StoreUnavailable` or
  :class:`~dispatcher_core.errors.ConcurrencyConflict` (see :mod:`~dispatcher_adapters.sql.errors`).

Importing this package opens no connection. See ``docs/storage-sql.md`` for the schema and how atomicity works.
"""

from dispatcher_adapters.sql.engine import create_engine, normalize_url
from dispatcher_adapters.sql.events import CHANNEL as EVENT_CHANNEL
from dispatcher_adapters.sql.listener import PgEventEnvelope, PostgresEventSubscriber
from dispatcher_adapters.sql.migrate import current_revision, downgrade, head_revision, upgrade
from dispatcher_adapters.sql.purge import SqlPurge
from dispatcher_adapters.sql.store import SchemaNotCurrent, SqlStore
from dispatcher_adapters.sql.throughput import SqlThroughput
from dispatcher_adapters.sql.unit_of_work import SqlUnitOfWork

__all__ = [
    "EVENT_CHANNEL",
    "PgEventEnvelope",
    "PostgresEventSubscriber",
    "SchemaNotCurrent",
    "SqlPurge",
    "SqlStore",
    "SqlThroughput",
    "SqlUnitOfWork",
    "create_engine",
    "current_revision",
    "downgrade",
    "head_revision",
    "normalize_url",
    "upgrade",
]
