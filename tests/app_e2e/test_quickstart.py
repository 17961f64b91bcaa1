"""The newcomer's path of docs/api.md, as separate processes: a .env with the secrets, `dispatcher agent-token`,
`dispatcher serve` on the SQLite default (in the platform's data directory), an agent socket, a signed
webhook, the conversation on the socket."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

from dispatcher_app.testing import receive_json, signed_webhook_headers

from .conftest import clean_environment, dispatcher_command, free_port, running_servers

PAYLOAD = Path(__file__).resolve().parents[2].parent / "shared" / "whatsapp-payloads" / "01_text_message.json"
ENV_FILE = """\
DISPATCHER_ADMIN_TOKEN=change-me-admin
DISPATCHER_AGENT_TOKEN_SECRET=change-me-to-32-or-more-random-bytes-0123456789
WHATSAPP_APP_SECRET=change-me-app-secret
WHATSAPP_VERIFY_TOKEN=change-me-verify
"""


async def test_serve_mint_connect_post_and_see_the_conversation(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(ENV_FILE)
    env = clean_environment(XDG_DATA_HOME=str(tmp_path / "data"))
    minting = await asyncio.create_subprocess_exec(
        *dispatcher_command("agent-token", "alice"), cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE
    )
    stdout, _ = await minting.communicate()
    assert minting.returncode == 0
    token = stdout.decode().strip()
    port = free_port()
    with running_servers(tmp_path, [(port, env)], log_level="info") as (process,):
        async with connect(f"ws://127.0.0.1:{port}/ws/agent?token={token}") as agent:
            hello = await receive_json(agent)
            assert (hello["type"], hello["agent_id"], hello["conversations"]) == ("hello", "alice", [])
            body = PAYLOAD.read_bytes()
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                response = await http.post(
                    "/webhooks/whatsapp", content=body, headers=signed_webhook_headers(body, "change-me-app-secret")
                )
                assert response.status_code == 200
                assert response.json()["accepted"] == 1
                assigned = await receive_json(agent)
                assert assigned["type"] == "conversation.assigned"
                assert assigned["customer"] == {
                    "id": "972987654321",
                    "name": "Test Name",
                    "business_number_id": "1122334455667",
                }
                assert [m["text"] for m in assigned["messages"]] == ["Body Text"]
                queue = await http.get("/admin/queue", headers={"Authorization": "Bearer change-me-admin"})
                assert [a["agent_id"] for a in queue.json()["agents"]] == ["alice"]
        # the embedded default, created on first start in the platform's data directory, not the current one
        assert (tmp_path / "data" / "dispatcher" / "dispatcher.sqlite3").is_file()
        assert not (tmp_path / "dispatcher.sqlite3").exists()
    # uvicorn stops gracefully on SIGTERM, then re-raises the signal: the exit status says "terminated"
    log = (tmp_path / f"serve-{port}.log").read_text()
    assert process.returncode in (0, -signal.SIGTERM), log
    assert "Traceback" not in log
    assert "ERROR" not in log
    assert "/ws/agent?token=<redacted>" in log  # uvicorn logs the socket's path, never the token
    assert token not in log


def test_serve_refuses_to_start_without_secrets(tmp_path: Path) -> None:
    result = subprocess.run(
        dispatcher_command("serve", "--port", str(free_port())),
        cwd=tmp_path,
        env=clean_environment(DISPATCHER_ADMIN_TOKEN="only-this-one"),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "DISPATCHER_AGENT_TOKEN_SECRET, WHATSAPP_APP_SECRET, WHATSAPP_VERIFY_TOKEN" in result.stderr
    assert "DISPATCHER_ADMIN_TOKEN," not in result.stderr
