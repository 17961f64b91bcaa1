"""GET /media/{media_id}: an agent downloads its customer's image through our route, streamed from the fake
Graph (real HTTP both sides); another agent's media is 404, no token is 401, an admin may fetch any; Graph's
access token appears in no response, frame or log line."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from dispatcher_adapters.whatsapp.settings import WhatsAppSettings
from dispatcher_app import create_app
from dispatcher_app.auth import mint_agent_token
from dispatcher_app.testing import AppHarness, AppSlot, make_config, mounted, receive_json, serve
from dispatcher_core.testing import ManualClock

from .test_whatsapp_wiring import PHONE_NUMBER_ID, fake_graph_module

TOKEN = "graph-access-token-that-must-never-leak"
PHOTO = b"\xff\xd8\xff\xe0" + b"JFIF-photo-bytes" * 5000
PDF = b"%PDF-1.7 invoice"


def media_message(customer: str, wamid: str, kind: str, media: dict[str, Any]) -> bytes:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": PHONE_NUMBER_ID, "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": "Camille"}, "wa_id": customer}],
        "messages": [{"from": customer, "id": wamid, "timestamp": "1749416383", "type": kind, kind: media}],
    }
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "waba", "changes": [{"value": value, "field": "messages"}]}],
    }
    return json.dumps(body).encode()


@pytest.fixture
async def fake_graph() -> AsyncIterator[Any]:
    fake = fake_graph_module.FakeGraph(token=TOKEN)
    fake.media = {"1003383421387256": (PHOTO, "image/jpeg"), "42": (PDF, "application/pdf")}
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture
async def harness(fake_graph: Any, tmp_path: Path) -> AsyncIterator[AppHarness]:
    settings = WhatsAppSettings.from_env(
        {
            "WHATSAPP_ACCESS_TOKEN": TOKEN,
            "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
            "WHATSAPP_API_BASE_URL": fake_graph.base_url,
        }
    )
    config = make_config(
        tick_interval=timedelta(hours=1),
        whatsapp=settings,
        database_url=f"sqlite+aiosqlite:///{tmp_path}/dispatcher.sqlite3",
    )
    slot = AppSlot()
    async with serve(slot) as server, mounted(slot, server, create_app(config, clock=ManualClock()), config) as h:
        yield h


async def assigned(ws: Any) -> dict[str, Any]:
    for _ in range(20):
        frame = await receive_json(ws)
        if frame["type"] == "conversation.assigned":
            return frame
    raise AssertionError("no conversation.assigned frame")


async def test_an_agent_downloads_its_customer_s_media_and_nothing_leaks_the_token(
    harness: AppHarness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    seen: list[str] = []
    with caplog.at_level(logging.DEBUG):
        async with h.agent("alice") as (alice, _), h.agent("bob") as (bob, _):
            photo = {"caption": "Le colis", "mime_type": "image/jpeg", "sha256": "abc", "id": "1003383421387256"}
            invoice = {"filename": "facture n°42.pdf", "mime_type": "application/pdf", "sha256": "d", "id": "42"}
            for body in (
                media_message("33612345678", "wamid.photo", "image", photo),
                media_message("33698765432", "wamid.invoice", "document", invoice),
            ):
                answer = await h.post_webhook(body)
                assert answer.json()["accepted"] == 1
                seen.append(answer.text)
            seen += [json.dumps(await assigned(alice)), json.dumps(await assigned(bob))]

            alice_jwt = mint_agent_token(h.config.agent_token_secret, "alice")
            bob_jwt = mint_agent_token(h.config.agent_token_secret, "bob")
            mine = await h.http.get("/media/1003383421387256", headers={"Authorization": f"Bearer {alice_jwt}"})
            assert mine.status_code == 200
            assert mine.content == PHOTO
            assert mine.headers["content-type"] == "image/jpeg"
            assert mine.headers["content-length"] == str(len(PHOTO))
            by_query = await h.http.get(f"/media/1003383421387256?token={alice_jwt}")
            assert (by_query.status_code, by_query.content) == (200, PHOTO)

            foreign = await h.http.get("/media/42", headers={"Authorization": f"Bearer {alice_jwt}"})
            assert foreign.status_code == 404
            assert foreign.json() == {"error": "no such media in your conversations"}
            document = await h.http.get("/media/42", headers={"Authorization": f"Bearer {bob_jwt}"})
            assert (document.status_code, document.content) == (200, PDF)
            assert document.headers["content-disposition"] == "inline; filename*=UTF-8''facture%20n%C2%B042.pdf"

            unknown = await h.http.get("/media/777", headers={"Authorization": f"Bearer {alice_jwt}"})
            assert unknown.status_code == 404
            assert (await h.http.get("/media/1003383421387256")).status_code == 401
            forged = await h.http.get("/media/1003383421387256", headers={"Authorization": "Bearer not-a-jwt"})
            assert forged.status_code == 401
            admin = await h.admin("GET", "/media/42")
            assert (admin.status_code, admin.content) == (200, PDF)

            responses = [mine, by_query, foreign, document, unknown, admin]
            seen += [response.text if response.status_code != 200 else "" for response in responses]
            seen += [json.dumps(dict(response.headers)) for response in responses]
    assert all(TOKEN not in text for text in seen)
    assert caplog.records  # the capture worked
    assert TOKEN not in caplog.text
    assert all(TOKEN not in str(record.args) for record in caplog.records)


async def test_media_graph_no_longer_has_is_404(harness: AppHarness, fake_graph: Any) -> None:
    h = harness
    async with h.agent("alice") as (alice, _):
        gone = {"mime_type": "audio/ogg", "id": "555"}  # not in the fake's media: expired at Meta
        assert (await h.post_webhook(media_message("33600000000", "wamid.voice", "audio", gone))).status_code == 200
        await assigned(alice)
        jwt = mint_agent_token(h.config.agent_token_secret, "alice")
        answer = await h.http.get("/media/555", headers={"Authorization": f"Bearer {jwt}"})
    assert answer.status_code == 404
    assert answer.json() == {"error": "the media is no longer available"}
