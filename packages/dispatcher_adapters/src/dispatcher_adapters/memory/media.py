"""The media index in memory (one process; the reference of the conformance suite)."""

from __future__ import annotations

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
