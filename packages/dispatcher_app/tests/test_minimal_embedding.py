"""An embedding host gives only the secrets of the routes it serves: a route group without its secret is not
mounted (404), and the rest works on the in-memory store."""

from __future__ import annotations

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from dispatcher_app.auth import mint_agent_token
from dispatcher_app.testing import TEST_AGENT_SECRET, text_message_body

from .conftest import MakeHarness

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_webhooks_only(make_harness: MakeHarness) -> None:
    async with make_harness(admin_token="", agent_token_secret="") as h:
        response = await h.post_webhook(
            text_message_body(business_number_id="bn1", customer_id="alice", message_id="wamid.1", text="hi")
        )
        assert response.status_code == 200
        assert response.json()["accepted"] == 1
        handshake = await h.http.get(
            "/webhooks/whatsapp",
            params={"hub.mode": "subscribe", "hub.verify_token": h.config.whatsapp_verify_token, "hub.challenge": "7"},
        )
        assert handshake.text == "7"
        for path in ("/admin/queue", "/admin/pending", "/dashboard"):
            assert (await h.http.get(path, headers={"Authorization": "Bearer anything"})).status_code == 404
        with pytest.raises(InvalidStatus) as refused:
            async with connect(h.agent_url(mint_agent_token(TEST_AGENT_SECRET, "a1"))):
                pass
        assert refused.value.response.status_code == 403  # Starlette's answer to a socket with no route
        mounted = {getattr(route, "path", None) for route in h.app.routes}
        assert mounted >= {"/webhooks/whatsapp", "/healthz", "/readyz", "/metrics"}
        assert not mounted & {"/ws/agent", "/ws/admin", "/admin/queue", "/dashboard"}
        assert (await h.http.get("/healthz")).status_code == 200
        # the message is there for the host to read through the orchestrator's read API
        [waiting] = await h.runtime.orchestrator.queries.pending()
        assert waiting.conversation.customer_id == "alice"


async def test_admin_and_agents_without_whatsapp(make_harness: MakeHarness) -> None:
    async with make_harness(whatsapp_app_secret="", whatsapp_verify_token="") as h:
        body = text_message_body(business_number_id="bn1", customer_id="bob", message_id="wamid.2", text="hi")
        assert (await h.post_webhook(body, secret="x")).status_code == 404
        assert (await h.http.get("/webhooks/whatsapp")).status_code == 404
        async with h.agent("a1") as (_, hello):
            assert hello["type"] == "hello"
            assert await h.queued_agents() == ["a1"]
