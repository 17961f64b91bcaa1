"""Customers' media: the ids a webhook announces, and the two-step download from the fake Graph over HTTP,
with the URL cached within Meta's lifetime and the token kept out of every error."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from dispatcher_adapters.memory import MemoryEventBus, MemoryMediaIndex, MemoryOutbox, MemoryStore
from dispatcher_adapters.whatsapp.media import MediaDownloads, MediaUnavailable, parse_inbound_media
from dispatcher_adapters.whatsapp.service import WhatsAppSending
from dispatcher_adapters.whatsapp.settings import WhatsAppSettings
from dispatcher_core import DispatcherOrchestrator
from dispatcher_core.messaging.media import InboundMedia
from dispatcher_core.testing import ManualClock

from .conftest import TOKEN
from .fake_graph import FakeGraph

NUMBER = "106540352242922"
JPEG = b"\xff\xd8\xff\xe0" + b"photo" * 20_000  # ~100 kB: several chunks


def media_webhook() -> dict[str, Any]:
    """Shaped like Meta's image, document and audio message webhooks (ids are placeholders)."""
    messages = [
        {
            "from": "16505551234",
            "id": "wamid.image",
            "timestamp": "1749416383",
            "type": "image",
            "image": {"caption": "Le colis", "mime_type": "image/jpeg", "sha256": "abc", "id": "1003383421387256"},
        },
        {
            "from": "16505551234",
            "id": "wamid.doc",
            "timestamp": "1749416384",
            "type": "document",
            "document": {"filename": "facture.pdf", "mime_type": "application/pdf", "sha256": "def", "id": "42"},
        },
        {"from": "16505551234", "id": "wamid.voice", "type": "audio", "audio": {"mime_type": "audio/ogg", "id": "7"}},
        {"from": "16505551234", "id": "wamid.text", "type": "text", "text": {"body": "hi"}},
        {"from": "16505551234", "id": "wamid.broken", "type": "image", "image": {"id": "../../etc"}},
    ]
    value = {"messaging_product": "whatsapp", "metadata": {"phone_number_id": NUMBER}, "messages": messages}
    return {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"value": value}]}]}


def test_a_webhook_s_media_are_parsed_with_their_message(clock: ManualClock) -> None:
    found = parse_inbound_media(media_webhook(), clock.now())
    assert [(m.media_id, m.kind, m.external_id) for m in found] == [
        ("1003383421387256", "image", "wamid.image"),
        ("42", "document", "wamid.doc"),
        ("7", "audio", "wamid.voice"),
    ]
    assert found[0] == InboundMedia(
        media_id="1003383421387256",
        business_number_id=NUMBER,
        customer_id="16505551234",
        external_id="wamid.image",
        kind="image",
        received_at=clock.now(),
        mime_type="image/jpeg",
        sha256="abc",
        caption="Le colis",
    )
    assert found[1].filename == "facture.pdf"
    assert parse_inbound_media({"entry": "nope"}, clock.now()) == []


@pytest.fixture
async def downloads(settings: WhatsAppSettings, clock: ManualClock) -> AsyncIterator[MediaDownloads]:
    async with httpx.AsyncClient() as client:
        yield MediaDownloads(client, access_token=TOKEN, base_url=settings.api_base_url, clock=clock)


async def read(downloads: MediaDownloads, media_id: str) -> tuple[str, bytes]:
    stream = await downloads.open(media_id)
    return stream.mime_type, b"".join([chunk async for chunk in stream.chunks()])


async def test_the_download_streams_the_file_and_reuses_the_url_within_its_lifetime(
    downloads: MediaDownloads, fake_graph: FakeGraph, clock: ManualClock
) -> None:
    fake_graph.media["1003383421387256"] = (JPEG, "image/jpeg")
    assert await read(downloads, "1003383421387256") == ("image/jpeg", JPEG)
    clock.advance(timedelta(minutes=3))
    assert await read(downloads, "1003383421387256") == ("image/jpeg", JPEG)
    assert downloads.lookups == 1  # the URL was reused
    clock.advance(timedelta(minutes=2))  # 5 minutes: Meta's URL may have expired
    await read(downloads, "1003383421387256")
    assert downloads.lookups == 2
    assert all(read.headers["authorization"] == f"Bearer {TOKEN}" for read in fake_graph.reads)


async def test_a_url_that_expired_early_is_asked_for_again_once(
    downloads: MediaDownloads, fake_graph: FakeGraph
) -> None:
    fake_graph.media["9"] = (b"%PDF-1.7", "application/pdf")
    await read(downloads, "9")
    fake_graph.expired_downloads = 1
    assert await read(downloads, "9") == ("application/pdf", b"%PDF-1.7")
    assert downloads.lookups == 2
    fake_graph.expired_downloads = 2
    with pytest.raises(MediaUnavailable) as refused:
        await downloads.open("9")
    assert refused.value.status == 502
    assert TOKEN not in str(refused.value)


async def test_an_unknown_media_is_404_and_no_error_holds_the_token(downloads: MediaDownloads) -> None:
    with pytest.raises(MediaUnavailable) as unknown:
        await downloads.open("404404")
    assert unknown.value.status == 404
    assert "code 100" in str(unknown.value)
    assert TOKEN not in str(unknown.value)
    with pytest.raises(MediaUnavailable) as bad:
        await downloads.open("../messages")
    assert bad.value.status == 404


async def test_graph_unreachable_is_502(clock: ManualClock) -> None:
    async with httpx.AsyncClient() as client:
        downloads = MediaDownloads(client, access_token=TOKEN, base_url="http://127.0.0.1:9/v27.0", clock=clock)
        with pytest.raises(MediaUnavailable) as failed:
            await downloads.open("1")
    assert failed.value.status == 502
    assert TOKEN not in str(failed.value)


async def test_maintenance_forgets_media_ids_older_than_meta_s_seven_days(
    settings: WhatsAppSettings, clock: ManualClock, registry: CollectorRegistry
) -> None:
    store, index = MemoryStore(), MemoryMediaIndex()
    orchestrator = DispatcherOrchestrator(uow_factory=store.unit_of_work, publisher=MemoryEventBus(), clock=clock)
    old = InboundMedia("1", NUMBER, "16505551234", "wamid.old", "image", clock.now() - timedelta(days=7, seconds=1))
    recent = InboundMedia("2", NUMBER, "16505551234", "wamid.new", "image", clock.now() - timedelta(days=6))
    await index.record(old)
    await index.record(recent)
    async with WhatsAppSending(
        settings,
        outbox=MemoryOutbox(),
        clock=clock,
        uow_factory=store.unit_of_work,
        orchestrator=orchestrator,
        registry=registry,
        media_index=index,
    ) as sending:
        maintenance = asyncio.create_task(sending.maintain())
        for _ in range(100):
            if await index.get("1") is None:
                break
            await asyncio.sleep(0)
        maintenance.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await maintenance
    assert await index.get("1") is None
    assert await index.get("2") == recent


async def test_the_webhook_hook_records_each_media_once(
    settings: WhatsAppSettings, clock: ManualClock, registry: CollectorRegistry
) -> None:
    store, index = MemoryStore(), MemoryMediaIndex()
    orchestrator = DispatcherOrchestrator(uow_factory=store.unit_of_work, publisher=MemoryEventBus(), clock=clock)
    async with WhatsAppSending(
        settings,
        outbox=MemoryOutbox(),
        clock=clock,
        uow_factory=store.unit_of_work,
        orchestrator=orchestrator,
        registry=registry,
        media_index=index,
    ) as sending:
        await sending.handle_webhook(media_webhook())
        clock.advance(timedelta(hours=1))
        await sending.handle_webhook(media_webhook())  # Meta resends
    image = await index.get("1003383421387256")
    assert image is not None
    assert image.received_at == clock.now() - timedelta(hours=1)
    assert await index.get("42") is not None
