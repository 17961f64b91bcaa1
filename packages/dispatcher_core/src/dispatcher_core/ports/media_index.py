"""The media ids customers' messages announced, so an agent's download can be authorised and fetched."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from dispatcher_core.messaging.media import InboundMedia

__all__ = ["MediaIndex"]


class MediaIndex(Protocol):
    async def record(self, media: InboundMedia) -> bool:
        """Record ``media`` unless its ``media_id`` is already recorded (Meta resends webhooks for days): the
        first record wins and later ones change nothing. ``True`` when this call recorded it. Safe to call
        concurrently from several instances: exactly one of them gets ``True``."""
        ...

    async def get(self, media_id: str) -> InboundMedia | None:
        """The recorded media with this id, or ``None``."""
        ...

    async def purge(self, received_before: datetime) -> int:
        """Forget every media received before ``received_before`` (Meta's webhook media ids expire after 7
        days); returns how many were forgotten."""
        ...
