"""Alembic environment of the SQL store.

Runs only on the connection handed over by :mod:`dispatcher_adapters.sql.migrate`, which has already begun
the transaction (and, on PostgreSQL, taken the migration advisory lock): every migration of a run applies in
that one transaction, or none does. SQLite DDL is transactional too once ``BEGIN`` is ours (see
:mod:`dispatcher_adapters.sql.engine`), and ALTERs go through batch mode there.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from dispatcher_adapters.sql.tables import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        transactional_ddl=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


_connection = context.config.attributes.get("connection")
if context.is_offline_mode() or not isinstance(_connection, Connection):
    raise RuntimeError(
        "dispatcher migrations run through dispatcher_adapters.sql.migrate (or `dispatcher db upgrade`), "
        "which provides the connection; offline SQL generation is not supported"
    )
_run(_connection)
