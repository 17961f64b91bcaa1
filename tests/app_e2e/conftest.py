"""Backends for the end-to-end tests of the app: memory, the SQLite default, and PostgreSQL + Redis.

PostgreSQL: each test gets a database of its own (created, migrated, dropped with ``FORCE``); Redis: a key
prefix of its own, deleted afterwards. Both skip on a laptop without the servers and fail in CI (see the root
conftest).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
import httpx
import pytest
import pytest_asyncio
from redis.asyncio import Redis
from sqlalchemy.engine import make_url

from dispatcher_adapters.redis import delete_prefix
from dispatcher_adapters.sql import upgrade

BACKENDS = ["memory", "sqlite", "postgresql", "redis", "postgresql+redis"]


def _plain(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


@pytest_asyncio.fixture
async def postgres_database(postgres_url: str) -> AsyncIterator[str]:
    """The URL of a fresh, migrated PostgreSQL database, dropped after the test."""
    name = f"dapp_e2e_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(_plain(postgres_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = _plain(postgres_url, name)
    try:
        await upgrade(url)
        yield url
    finally:
        admin = await asyncpg.connect(_plain(postgres_url))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest_asyncio.fixture
async def redis_prefix(redis_url: str) -> AsyncIterator[str]:
    """A key prefix of this test's own on the test Redis, deleted afterwards."""
    prefix = f"dapp-e2e-{uuid.uuid4().hex[:12]}"
    yield prefix
    client = Redis.from_url(redis_url, decode_responses=True)
    try:
        await delete_prefix(client, prefix)
    finally:
        await client.aclose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """Configuration changes selecting one backend (``AppConfig`` keyword arguments)."""
    match request.param:
        case "memory":
            return {"database_url": "memory://"}
        case "sqlite":
            return {"database_url": f"sqlite:///{tmp_path / 'dispatcher.sqlite3'}"}
        case "postgresql":
            return {"database_url": request.getfixturevalue("postgres_database")}
        case "redis":  # Redis as the whole store, and its events
            return {
                "database_url": request.getfixturevalue("redis_url"),
                "redis_prefix": request.getfixturevalue("redis_prefix"),
            }
        case _:
            return {
                "database_url": request.getfixturevalue("postgres_database"),
                "redis_url": request.getfixturevalue("redis_url"),
                "redis_prefix": request.getfixturevalue("redis_prefix"),
            }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def dispatcher_command(*args: str) -> list[str]:
    """The installed ``dispatcher`` console script, as a newcomer runs it (``uv run dispatcher ...``)."""
    return [str(Path(sys.executable).with_name("dispatcher")), *args]


def clean_environment(**variables: str) -> dict[str, str]:
    """This process's environment without any dispatcher or WhatsApp variable, plus ``variables``."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("DISPATCHER_", "WHATSAPP_"))}
    return {**kept, **variables}


@contextmanager
def running_servers(
    cwd: Path, servers: list[tuple[int, dict[str, str]]], log_level: str = "warning"
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``dispatcher serve`` processes, one per (port, environment), started together, ready on entry; on exit
    each still running gets SIGTERM (and a kill if it does not stop). Logs go to ``cwd/serve-<port>.log``."""
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for port, env in servers:
            with (cwd / f"serve-{port}.log").open("wb") as output:
                processes.append(
                    subprocess.Popen(
                        dispatcher_command(
                            "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", log_level
                        ),
                        cwd=cwd,
                        env=env,
                        stdout=output,
                        stderr=subprocess.STDOUT,
                    )
                )
        for (port, _), process in zip(servers, processes, strict=True):
            wait_until_ready(port, process, cwd / f"serve-{port}.log")
        yield processes
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until_ready(port: int, process: subprocess.Popen[bytes], log: Path, give_up_after: float = 30.0) -> None:
    deadline = time.monotonic() + give_up_after
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"dispatcher serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"dispatcher serve not ready after {give_up_after}s:\n{log.read_text()}")
