"""Migrations: ``dispatcher db upgrade`` on an empty database, downgrade, upgrade again; the migrated schema is
exactly the tables module; SQLite migrates itself on start and is tuned; PostgreSQL refuses a stale schema."""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from dispatcher_adapters.sql import (
    SchemaNotCurrent,
    SqlStore,
    create_engine,
    current_revision,
    downgrade,
    head_revision,
    upgrade,
)
from dispatcher_adapters.sql.tables import metadata
from dispatcher_app.commands import db
from dispatcher_core.entities import AgentPresence
from dispatcher_core.errors import InvalidInput
from dispatcher_core.testing.conformance._support import at, conversation

STORE_TABLES = {table.name for table in metadata.sorted_tables}


def cli(*argv: str) -> int:
    """The ``db`` sub-command as the ``dispatcher`` CLI registers it."""
    parser = argparse.ArgumentParser(prog="dispatcher")
    db.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["db", *argv])
    result: int = args.handler(args)
    return result


async def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


async def schema_differences(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return list(await conn.run_sync(lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)))
    finally:
        await engine.dispose()


async def works(url: str) -> None:
    """A store on ``url`` writes and reads back."""
    store = await SqlStore.create(url)
    try:
        conv = conversation("c1")
        async with store.unit_of_work() as uow:
            await uow.conversations.add(conv)
            await uow.presence.save(AgentPresence.offline("a1", at(0)))
            await uow.commit()
        async with store.unit_of_work() as uow:
            assert await uow.conversations.get(conv.id) == conv
    finally:
        await store.close()


@pytest.mark.postgres
def test_cli_upgrade_downgrade_upgrade_on_an_empty_postgres_database(empty_pg_database: str) -> None:
    url = empty_pg_database
    assert asyncio.run(table_names(url)) == set()
    assert cli("upgrade", "--url", url) == 0
    assert asyncio.run(current_revision(url)) == head_revision()
    assert asyncio.run(table_names(url)) == STORE_TABLES | {"alembic_version"}
    assert cli("upgrade", "--url", url) == 0  # idempotent
    assert cli("downgrade", "base", "--url", url) == 0
    assert asyncio.run(current_revision(url)) is None
    assert asyncio.run(table_names(url)) <= {"alembic_version"}
    assert cli("upgrade", "--url", url) == 0
    assert asyncio.run(current_revision(url)) == head_revision()
    asyncio.run(works(url))


@pytest.mark.postgres
def test_cli_reads_the_url_from_the_environment(empty_pg_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPATCHER_DATABASE_URL", empty_pg_database)
    assert cli("upgrade") == 0
    assert asyncio.run(current_revision(empty_pg_database)) == head_revision()


@pytest.mark.postgres
def test_migrated_postgres_schema_is_exactly_the_tables_module(pg_database: str) -> None:
    assert asyncio.run(schema_differences(pg_database)) == []


@pytest.mark.filterwarnings(
    # SQLAlchemy cannot reflect SQLite expression indexes; the one it skips is checked by hand below.
    "ignore:Skipped unsupported reflection of expression-based index:sqlalchemy.exc.SAWarning",
    "ignore:autogenerate skipping metadata-specified expression-based index:UserWarning",
)
async def test_migrated_sqlite_schema_is_exactly_the_tables_module(sqlite_url: str) -> None:
    await upgrade(sqlite_url)
    assert await schema_differences(sqlite_url) == []
    engine = create_engine(sqlite_url)
    try:
        async with engine.connect() as conn:
            sql = (
                await conn.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE name = 'ix_dispatcher_conversations_pending'"
                )
            ).scalar_one()
    finally:
        await engine.dispose()
    assert "coalesce(pending_since, opened_at)" in sql
    assert "WHERE status = 'open' AND agent_id IS NULL" in sql


@pytest.mark.postgres
async def test_postgres_store_refuses_a_schema_that_is_not_at_head(empty_pg_database: str) -> None:
    with pytest.raises(SchemaNotCurrent, match="dispatcher db upgrade"):
        await SqlStore.create(empty_pg_database)
    assert await table_names(empty_pg_database) == set()
    store = await SqlStore.create(empty_pg_database, migrate=True)
    await store.close()
    await works(empty_pg_database)


async def test_sqlite_store_migrates_itself_and_is_tuned(sqlite_url: str) -> None:
    store = await SqlStore.create(sqlite_url, busy_timeout_ms=1234)
    try:
        assert await current_revision(store.engine) == head_revision()
        async with store.engine.connect() as conn:
            pragmas = {
                name: (await conn.exec_driver_sql(f"PRAGMA {name}")).scalar_one()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
        assert pragmas == {"journal_mode": "wal", "synchronous": 1, "foreign_keys": 1, "busy_timeout": 1234}
    finally:
        await store.close()
    await works(sqlite_url)


async def test_instances_starting_together_migrate_the_sqlite_file_once(sqlite_url: str) -> None:
    stores = await asyncio.gather(*(SqlStore.create(sqlite_url) for _ in range(4)))
    try:
        assert {await current_revision(store.engine) for store in stores} == {head_revision()}
    finally:
        for store in stores:
            await store.close()
    await works(sqlite_url)


async def test_unknown_revision_is_refused_and_changes_nothing(sqlite_url: str) -> None:
    await upgrade(sqlite_url)
    with pytest.raises(InvalidInput, match="revision"):
        await downgrade(sqlite_url, "no-such-revision")
    with pytest.raises(InvalidInput):
        await upgrade(sqlite_url, "")
    assert await current_revision(sqlite_url) == head_revision()
    assert await table_names(sqlite_url) == STORE_TABLES | {"alembic_version"}


def test_cli_reports_bad_urls_and_revisions(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("upgrade", "--url", "memory://") == 2
    assert "unsupported database URL" in capsys.readouterr().err
    assert cli("downgrade", "nope", "--url", sqlite_url) == 2
    assert "nope" in capsys.readouterr().err
    assert cli("current", "--url", "postgresql://user:s3cret@127.0.0.1:1/db") == 1
    err = capsys.readouterr().err
    assert "unavailable" in err
    assert "s3cret" not in err


def test_the_dispatcher_console_script_runs_migrations(tmp_path: Path) -> None:
    """End to end through ``dispatcher_app.cli``: the default URL is the SQLite file of ``dispatcher serve``, in
    the platform's data directory ($XDG_DATA_HOME on Linux), not the working directory."""
    env = {key: value for key, value in os.environ.items() if key != "DISPATCHER_DATABASE_URL"}
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    done = subprocess.run(
        [sys.executable, "-m", "dispatcher_app.cli", "db", "upgrade"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"upgraded from empty to {head_revision()}" in done.stdout
    assert (tmp_path / "data" / "dispatcher" / "dispatcher.sqlite3").exists()
    assert not (tmp_path / "dispatcher.sqlite3").exists()
