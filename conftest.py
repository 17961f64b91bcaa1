"""Shared pytest fixtures for every test directory of the workspace.

External services: ``postgres_url`` and ``redis_url`` give the server URLs from ``DISPATCHER_TEST_POSTGRES_URL``
(default ``postgresql://postgres@127.0.0.1:5432/postgres``) and ``DISPATCHER_TEST_REDIS_URL`` (default
``redis://127.0.0.1:6379/0``). When a server cannot be reached the test is skipped with the reason shown,
except when ``CI`` or ``DISPATCHER_REQUIRE_SERVICES`` is set to a true value: then it fails, so CI can never
pass by skipping the PostgreSQL and Redis tests.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

# ``pytester`` runs pytest on generated test files (the conformance plugin's own tests).
pytest_plugins = ["pytester"]

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="session", autouse=True)
def _private_data_directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The app's default SQLite file lives in the platform's data directory ($XDG_DATA_HOME on Linux): point it
    at a temporary directory, for this process and the servers it starts, so no test writes to the home."""
    previous = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("xdg-data"))
    yield
    if previous is None:
        del os.environ["XDG_DATA_HOME"]
    else:
        os.environ["XDG_DATA_HOME"] = previous


def services_required() -> bool:
    return any(
        os.environ.get(name, "").strip().lower() in {"1", "true", "yes"}
        for name in ("CI", "DISPATCHER_REQUIRE_SERVICES")
    )


def _reachable(url: str, default_port: int) -> str | None:
    """``None`` if a TCP connection to the URL's host and port succeeds, else the reason."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or default_port
    try:
        with socket.create_connection((host, port), timeout=2):
            return None
    except OSError as exc:
        return f"{host}:{port} unreachable ({exc})"


def _service_url(env: str, default: str, port: int, name: str) -> str:
    url = os.environ.get(env, default)
    problem = _reachable(url, port)
    if problem is not None:
        message = f"{name} is needed by this test and {problem}; set {env}"
        if services_required():
            pytest.fail(f"{message} (required because CI/DISPATCHER_REQUIRE_SERVICES is set)")
        pytest.skip(message)
    return url


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """URL of a PostgreSQL server (database ``postgres``) on which tests may create databases."""
    return _service_url("DISPATCHER_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL, 5432, "PostgreSQL")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of a Redis server; tests use their own key prefix and delete only that."""
    return _service_url("DISPATCHER_TEST_REDIS_URL", DEFAULT_REDIS_URL, 6379, "Redis")
