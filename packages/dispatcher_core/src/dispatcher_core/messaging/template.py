"""What a template message is made of, as plain values (seed phase 1).

A template is defined once on Meta's side (its name, language, header, body, footer, buttons, with numbered
variables ``{{1}}``, ``{{2}}``, ...); a send names it and supplies the variables' values. These values carry
the *parameters* that are sent and, optionally, the template's own texts (``text``, ``label``, footer). The
texts are never sent; when they are known, the validator renders them with the parameters and checks the
result against Meta's limits, which is how a header that would be 61 characters long is caught here and not
by Meta. Serialising to the Cloud API's JSON is the adapter's job.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "BodyComponent",
    "ButtonComponent",
    "ButtonKind",
    "FooterComponent",
    "HeaderComponent",
    "HeaderFormat",
    "TemplateMessage",
    "placeholder_numbers",
    "render",
]

PLACEHOLDER = re.compile(r"\{\{\s*(\d+)\s*\}\}")


class HeaderFormat(enum.StrEnum):
    TEXT = "text"
    IMAGE = "image"
    VIDEO = "video"
    DOCUMENT = "document"


class ButtonKind(enum.StrEnum):
    QUICK_REPLY = "quick_reply"
    URL = "url"
    PHONE_NUMBER = "phone_number"


@dataclass(frozen=True, slots=True)
class HeaderComponent:
    """A text header (``parameters`` fill its variable) or a media header (exactly one of ``media_link`` and
    ``media_id``; ``filename`` for documents only)."""

    format: HeaderFormat
    text: str | None = None
    parameters: tuple[str, ...] = ()
    media_link: str | None = None
    media_id: str | None = None
    filename: str | None = None


@dataclass(frozen=True, slots=True)
class BodyComponent:
    """The body's variable values, in order (``{{1}}`` first); ``text`` is the template's body when known."""

    text: str | None = None
    parameters: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FooterComponent:
    """A template's footer. It has no variables and is not part of a send request; it is carried so that its
    length is checked with the rest of the template."""

    text: str


@dataclass(frozen=True, slots=True)
class ButtonComponent:
    """One button of the template, at its position in the template's button list (which is the ``index``
    the Cloud API wants). ``payload`` is what a quick-reply tap sends back; ``url_suffix`` fills the variable of
    a dynamic URL button. ``label`` is the button's text when known (checked, never sent)."""

    kind: ButtonKind
    label: str | None = None
    payload: str | None = None
    url_suffix: str | None = None

    @property
    def has_parameters(self) -> bool:
        """Whether the send request must carry a component for this button (static buttons need none)."""
        return self.payload is not None or self.url_suffix is not None


@dataclass(frozen=True, slots=True)
class TemplateMessage:
    """A validated template message: build one with
    :class:`~dispatcher_core.messaging.builders.TemplateMessageBuilder`."""

    name: str
    language: str
    header: HeaderComponent | None = None
    body: BodyComponent | None = None
    footer: FooterComponent | None = None
    buttons: tuple[ButtonComponent, ...] = ()


def placeholder_numbers(text: str) -> list[int]:
    """The variable numbers used in ``text``, in order of appearance (``"{{2}} {{1}}"`` -> ``[2, 1]``)."""
    return [int(match.group(1)) for match in PLACEHOLDER.finditer(text)]


def render(text: str, parameters: Sequence[str]) -> str:
    """``text`` with ``{{n}}`` replaced by ``parameters[n - 1]``; variables without a value are left as is."""

    def substitute(match: re.Match[str]) -> str:
        number = int(match.group(1))
        return parameters[number - 1] if 1 <= number <= len(parameters) else match.group(0)

    return PLACEHOLDER.sub(substitute, text)
