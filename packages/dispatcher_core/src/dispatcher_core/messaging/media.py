"""Media customers send (images, voice notes, documents...), as the webhook announced them.

WhatsApp delivers a media message as a *media id*, valid for 7 days, not as the file: whoever wants the file
asks Graph for a short-lived download URL (5 minutes) and downloads it with the access token. The dispatcher
records each announced media id with the message it came in (:class:`InboundMedia`, stored behind the
:class:`~dispatcher_core.ports.media_index.MediaIndex` port), so that an agent can download it through our own
route - which checks that the message is in one of the agent's conversations - and never sees the token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dispatcher_core.errors import InvalidInput

__all__ = ["InboundMedia"]


@dataclass(frozen=True, slots=True)
class InboundMedia:
    """One media of a customer message: ``media_id`` is Meta's; ``external_id`` the message's wamid."""

    media_id: str
    business_number_id: str
    customer_id: str
    external_id: str
    kind: str
    received_at: datetime
    mime_type: str | None = None
    sha256: str | None = None
    caption: str | None = None
    filename: str | None = None

    def __post_init__(self) -> None:
        for name in ("media_id", "business_number_id", "customer_id", "external_id", "kind"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise InvalidInput(f"inbound media: {name} must be a non-empty string")
