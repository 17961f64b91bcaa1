"""SQLite serves one process: a second `dispatcher serve` on the same file refuses to start, saying what to use
instead, while the first one keeps serving. No silent loss of events between two processes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from .conftest import clean_environment, dispatcher_command, free_port, running_servers

pytestmark = pytest.mark.slow

SECRETS = {
    "DISPATCHER_ADMIN_TOKEN": "sqlite-admin",
    "DISPATCHER_AGENT_TOKEN_SECRET": "sqlite-agent-secret-0123456789abcdef0123456",
    "WHATSAPP_APP_SECRET": "sqlite-app-secret",
    "WHATSAPP_VERIFY_TOKEN": "sqlite-verify",
}


def test_a_second_process_on_one_sqlite_file_refuses_to_start(tmp_path: Path) -> None:
    env = clean_environment(**SECRETS, DISPATCHER_DATABASE_URL=f"sqlite:///{tmp_path / 'shared.sqlite3'}")
    first = free_port()
    with running_servers(tmp_path, [(first, env)]):
        second = subprocess.run(
            dispatcher_command("serve", "--host", "127.0.0.1", "--port", str(free_port())),
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert second.returncode != 0
        assert "another dispatcher process is already serving the SQLite database" in second.stderr
        assert "postgresql://" in second.stderr
        assert httpx.get(f"http://127.0.0.1:{first}/readyz").status_code == 200  # the first one is unaffected
    # once the first one is gone, the file can be served again
    with running_servers(tmp_path, [(free_port(), env)]):
        pass
