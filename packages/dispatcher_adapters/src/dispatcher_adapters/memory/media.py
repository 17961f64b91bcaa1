"""The media index in memory (one process; the reference of the conformance suite)."""

from __future__ import annotations

from datetime import datetime

from dispatcher_core.messaging.media import InboundMedia

__all__ = ["MemoryMediaIndex"]


class MemoryMediaIndex:
    """Implements :class:`~dispatcher_core.ports.MediaIndex`."""

    def __init__(self) -> None:
        self._media: dict[str, InboundMedia] = {}

    async def record(self, media: InboundMedia) -> bool:
        if media.media_id in self._media:
            return False
        self._media[media.media_id] = media
        return True

    async def get(self, media_id: str) -> InboundMedia | None:
        return self._media.get(media_id)

    async def purge(self, received_before: datetime) -> int:
        old = [key for key, media in self._media.items() if media.received_at < received_before]
        for key in old:
            del self._media[key]
        return len(old)
