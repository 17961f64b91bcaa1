"""docs/embedding.md, executed: the core driven by another backend with its own adapter (which passes the
conformance suite), and the app mounted inside another ASGI app, served by uvicorn."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect

from dispatcher_app import mint_agent_token
from dispatcher_app.testing import make_config, receive_json, serve, signed_webhook_headers, text_message_body

DOC = Path(__file__).resolve().parents[2] / "docs" / "embedding.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)

# The page's code, in order, in this module: its ``TestAuditedStore`` is collected by pytest like any test
# class, so the conformance suite runs on the page's adapter.
exec(compile("\n".join(BLOCKS), str(DOC), "exec"), globals())  # the documentation is the code under test

the_page: dict[str, Any] = globals()


def test_the_page_has_the_six_examples() -> None:
    assert len(BLOCKS) == 6
    for name in (
        "AuditedStore",
        "TestAuditedStore",
        "my_backend_receives_a_message",
        "my_backend_shows_the_queue",
        "build_my_backend",
        "build_my_webhook_receiver",
    ):
        assert name in the_page


async def test_the_core_from_another_backend() -> None:
    outcome, forwarded, trail = await the_page["my_backend_receives_a_message"]()
    assert ("agent-1", "conversation.assigned") in forwarded
    assert (None, "queue.updated") in forwarded
    assert trail  # every committed cycle went through the backend's adapter
    assert outcome.duplicate is False


async def test_the_app_mounted_in_another_asgi_app() -> None:
    config = make_config()
    store = the_page["AuditedStore"](the_page["MemoryStore"]().unit_of_work)
    host = the_page["build_my_backend"](config, store)
    async with serve(host) as server, httpx.AsyncClient(base_url=server.http_url) as http:
        assert (await http.get("/")).text == "my backend"
        body = text_message_body(business_number_id="B", customer_id="c1", message_id="w1", text="hello")
        posted = await http.post("/dispatcher/webhooks/whatsapp", content=body, headers=signed_webhook_headers(body))
        assert posted.json()["accepted"] == 1
        token = mint_agent_token(config.agent_token_secret, "agent-1")
        async with connect(f"{server.ws_url}/dispatcher/ws/agent?token={token}") as agent:
            hello = await receive_json(agent)
            assert [c["customer"]["id"] for c in hello["conversations"]] == ["c1"]
            queue = await http.get("/dispatcher/admin/queue", headers={"Authorization": f"Bearer {config.admin_token}"})
            assert [a["agent_id"] for a in queue.json()["agents"]] == ["agent-1"]
        assert "dispatcher_assignments_total" in (await http.get("/dispatcher/metrics")).text
        assert store.trail  # the mounted app wrote through the backend's own store


async def test_the_read_side_for_another_backend() -> None:
    queue, waiting = await the_page["my_backend_shows_the_queue"]()
    assert queue == [(1, "agent-1", 1)]
    assert waiting == ["customer-2"]


async def test_a_webhook_receiver_with_only_the_whatsapp_secrets() -> None:
    host = the_page["build_my_webhook_receiver"]()
    async with serve(host) as server, httpx.AsyncClient(base_url=server.http_url) as http:
        body = text_message_body(business_number_id="B", customer_id="c1", message_id="w1", text="hello")
        headers = signed_webhook_headers(body, "the Meta app secret")
        assert (await http.post("/whatsapp/webhooks/whatsapp", content=body, headers=headers)).json()["accepted"] == 1
        assert (await http.get("/whatsapp/admin/queue", headers={"Authorization": "Bearer x"})).status_code == 404
        assert (await http.get("/whatsapp/healthz")).status_code == 200
