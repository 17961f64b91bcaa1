"""Conformance suite of :class:`~dispatcher_core.ports.MediaIndex`.

Subclass :class:`MediaIndexConformance` and provide an async ``media_index`` fixture returning an empty index.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from dispatcher_core.messaging.media import InboundMedia
from dispatcher_core.ports.media_index import MediaIndex
from dispatcher_core.testing.conformance._support import ConformanceSuite

__all__ = ["MediaIndexConformance"]

T0 = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)

IMAGE = InboundMedia(
    media_id="1037543291543636",
    business_number_id="106540352242922",
    customer_id="33612345678",
    external_id="wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=",
    kind="image",
    received_at=T0 + timedelta(microseconds=654321),
    mime_type="image/jpeg",
    sha256="e5bd5b4dbd4ca7b8e2dd6e1dd8e3fe9dd8e5b1a9f1b0a8c3b7d5e3f0e9d8c7b6",
    caption="Voilà la photo ✓",
)
DOCUMENT = InboundMedia(
    media_id="2",
    business_number_id="106540352242922",
    customer_id="33612345678",
    external_id="wamid.2",
    kind="document",
    received_at=T0,
    mime_type="application/pdf",
    filename="facture n°42.pdf",
)


class MediaIndexConformance(ConformanceSuite):
    """The media index (``MediaIndex``): what the webhook recorded of a media comes back whole, the first record
    of an id wins, and ``purge`` forgets only records older than its cutoff. Needs a ``media_index`` fixture."""

    async def test_an_unknown_media(self, media_index: MediaIndex) -> None:
        assert await media_index.get("nope") is None

    async def test_every_field_comes_back_as_recorded(self, media_index: MediaIndex) -> None:
        assert await media_index.record(IMAGE)
        assert await media_index.record(DOCUMENT)
        assert await media_index.get(IMAGE.media_id) == IMAGE
        assert await media_index.get(DOCUMENT.media_id) == DOCUMENT
        bare = InboundMedia("3", "1", "2", "wamid.3", "audio", T0)
        assert await media_index.record(bare)
        assert await media_index.get("3") == bare

    async def test_the_first_record_wins(self, media_index: MediaIndex) -> None:
        assert await media_index.record(IMAGE)
        assert not await media_index.record(replace(IMAGE, customer_id="someone-else", caption="changed"))
        assert await media_index.get(IMAGE.media_id) == IMAGE

    async def test_purge_forgets_what_was_received_before(self, media_index: MediaIndex) -> None:
        later = replace(DOCUMENT, received_at=T0 + timedelta(days=8))
        assert await media_index.record(IMAGE)  # received at T0 + 0.65 s
        assert await media_index.record(later)
        assert await media_index.purge(T0) == 0
        assert await media_index.purge(T0 + timedelta(days=1)) == 1
        assert await media_index.get(IMAGE.media_id) is None
        assert await media_index.get(later.media_id) == later
        assert await media_index.purge(T0 + timedelta(days=1)) == 0
        assert await media_index.record(IMAGE)  # a forgotten id may be recorded again

    async def test_concurrent_records_have_one_winner(self, media_index: MediaIndex) -> None:
        copies = [replace(IMAGE, caption=f"copy {index}") for index in range(8)]
        results = await asyncio.gather(*(media_index.record(copy) for copy in copies))
        assert sorted(results) == [False] * 7 + [True]
        stored = await media_index.get(IMAGE.media_id)
        assert stored is not None
        assert stored == copies[results.index(True)]
