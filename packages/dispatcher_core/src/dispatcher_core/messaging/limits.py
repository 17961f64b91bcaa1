"""Meta's limits on what we send, in one place (docs/whatsapp-sender.md).

They are template-definition limits on Meta's side (a template whose rendered header, body, footer or buttons
break them is refused); we check them before anything is queued so the agent or the caller gets a precise
error naming the field instead of a Graph error code later.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from dispatcher_core.errors import InvalidInput

__all__ = ["TEXT_MAX_LENGTH", "TemplateLimits"]

#: A text message body: at most this many characters.
TEXT_MAX_LENGTH = 4096


@dataclass(frozen=True, slots=True)
class TemplateLimits:
    """Defaults are Meta's. Tests and stricter deployments may lower them; raising them only moves the error
    to Meta's side."""

    name_length: int = 512
    header_text_length: int = 60
    body_text_length: int = 1024
    footer_text_length: int = 60
    buttons: int = 10
    url_buttons: int = 2
    button_label_length: int = 25
    #: Meta allows a single variable in a text header.
    header_parameters: int = 1
    #: A parameter may not hold more than this many consecutive spaces (Graph error 132018).
    consecutive_spaces: int = 4
    #: The code a copy-code button copies.
    coupon_code_length: int = 15

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if value < 1:
                raise InvalidInput(f"TemplateLimits.{field.name} must be >= 1, got {value}")
