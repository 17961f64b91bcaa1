"""Throw-away PostgreSQL and Redis servers that a test may crash and restart.

:func:`postgres_cluster` makes a cluster with ``initdb`` on a free port (trust authentication, no fsync: it is
thrown away), starts it with ``pg_ctl`` and removes it on exit; :meth:`PostgresCluster.crash` is
``pg_ctl stop -m immediate`` (no shutdown checkpoint, every connection cut: what a crash looks like to
clients), :meth:`PostgresCluster.start` brings it back on the same port and data. Running as root (a container),
the server runs as the ``postgres`` user, since PostgreSQL refuses to run as root.

:func:`redis_server` does the same for ``redis-server`` (``appendonly`` chosen by the caller).

The binaries come from ``DISPATCHER_TEST_PG_BIN`` (default: the newest ``/usr/lib/postgresql/*/bin``) and the
``PATH``; a test that cannot find them is skipped, or fails in CI (see the root conftest).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["PostgresCluster", "RedisServer", "postgres_cluster", "redis_server"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _missing(what: str) -> None:
    required = any(
        os.environ.get(name, "").strip().lower() in {"1", "true", "yes"}
        for name in ("CI", "DISPATCHER_REQUIRE_SERVICES")
    )
    if required:
        pytest.fail(f"{what} is needed by this test (required because CI/DISPATCHER_REQUIRE_SERVICES is set)")
    pytest.skip(f"{what} is needed by this test")


def _pg_bin() -> Path | None:
    configured = os.environ.get("DISPATCHER_TEST_PG_BIN")
    if configured:
        return Path(configured)
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda path: int(Path(path).parent.name))
    if found:
        return Path(found[-1])
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _wait_for_port(port: int, give_up_after: float = 30.0) -> None:
    deadline = time.monotonic() + give_up_after
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port} after {give_up_after}s")


@dataclass
class PostgresCluster:
    bin_dir: Path
    data_dir: Path
    port: int
    as_user: list[str]

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _pg_ctl(self, *args: str) -> None:
        command = [*self.as_user, str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), *args]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off"
        self._pg_ctl("-w", "-l", str(self.data_dir / "server.log"), "-o", options, "start")
        _wait_for_port(self.port)

    def crash(self) -> None:
        """``pg_ctl stop -m immediate``: the server quits at once, without a checkpoint, cutting every client."""
        self._pg_ctl("-w", "-m", "immediate", "stop")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._pg_ctl("-w", "-m", "fast", "stop")


@contextlib.contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    bin_dir = _pg_bin()
    if bin_dir is None or not (bin_dir / "initdb").exists():
        _missing("PostgreSQL's initdb and pg_ctl (set DISPATCHER_TEST_PG_BIN)")
        raise AssertionError("unreachable")
    as_user: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="dispatcher-pg-"))
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres", "postgres")
    data_dir = root / "data"
    try:
        subprocess.run(
            [*as_user, str(bin_dir / "initdb"), "-D", str(data_dir), "-U", "postgres", "-A", "trust", "-E", "UTF8"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        cluster = PostgresCluster(bin_dir, data_dir, _free_port(), as_user)
        cluster.start()
        try:
            yield cluster
        finally:
            cluster.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class RedisServer:
    port: int
    directory: Path
    appendonly: bool
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory)]
        command += ["--save", "", "--appendonly", "yes" if self.appendonly else "no", "--appendfsync", "always"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for_port(self.port)

    def crash(self) -> None:
        """SIGKILL: no shutdown, every client cut (what survives is what the append-only file holds)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@contextlib.contextmanager
def redis_server(*, appendonly: bool) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        _missing("redis-server on the PATH")
    with tempfile.TemporaryDirectory(prefix="dispatcher-redis-") as directory:
        server = RedisServer(_free_port(), Path(directory), appendonly)
        server.start()
        try:
            yield server
        finally:
            server.crash()
