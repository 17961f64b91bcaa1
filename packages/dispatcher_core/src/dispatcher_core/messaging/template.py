"""What a template message is made of, as plain values (seed phase 1).

A template is defined once on Meta's side (its name, language, header, body, footer, buttons, with numbered
variables ``{{1}}``, ``{{2}}``, ... or named ones ``{{first_name}}``); a send names it and supplies the
variables' values (:mod:`~dispatcher_core.messaging.parameters`: text, currency, date_time, location).
These values carry the *parameters* that are sent and, optionally, the template's own texts (``text``,
``label``, footer). The texts are never sent; when they are known, the validator renders them with the
parameters and checks the result against Meta's limits, which is how a header that would be 61 characters
long is caught here and not by Meta. Serialising to the Cloud API's JSON is the adapter's job.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass

from dispatcher_core.messaging.parameters import LocationParameter, VariableValue, display_text, parameter_name

__all__ = [
    "BodyComponent",
    "ButtonComponent",
    "ButtonKind",
    "FooterComponent",
    "HeaderComponent",
    "HeaderFormat",
    "TemplateMessage",
    "placeholder_names",
    "placeholder_numbers",
    "render",
]

#: A variable: ``{{1}}`` (positional) or ``{{first_name}}`` (named: lowercase letters, digits, underscores).
PLACEHOLDER = re.compile(r"\{\{\s*([a-z0-9_]+)\s*\}\}")


class HeaderFormat(enum.StrEnum):
    TEXT = "text"
    IMAGE = "image"
    VIDEO = "video"
    DOCUMENT = "document"
    LOCATION = "location"


class ButtonKind(enum.StrEnum):
    QUICK_REPLY = "quick_reply"
    URL = "url"
    PHONE_NUMBER = "phone_number"
    COPY_CODE = "copy_code"
    FLOW = "flow"


@dataclass(frozen=True, slots=True)
class HeaderComponent:
    """A text header (``parameters`` fill its variable), a media header (exactly one of ``media_link`` and
    ``media_id``; ``filename`` for documents only) or a location header (``location``)."""

    format: HeaderFormat
    text: str | None = None
    parameters: tuple[VariableValue, ...] = ()
    media_link: str | None = None
    media_id: str | None = None
    filename: str | None = None
    location: LocationParameter | None = None


@dataclass(frozen=True, slots=True)
class BodyComponent:
    """The body's variable values, in order (``{{1}}`` first) or named; ``text`` is the template's body when
    known."""

    text: str | None = None
    parameters: tuple[VariableValue, ...] = ()


@dataclass(frozen=True, slots=True)
class FooterComponent:
    """A template's footer. It has no variables and is not part of a send request; it is carried so that its
    length is checked with the rest of the template."""

    text: str


@dataclass(frozen=True, slots=True)
class ButtonComponent:
    """One button of the template, at its position in the template's button list (which is the ``index``
    the Cloud API wants). ``payload`` is what a quick-reply tap sends back; ``url_suffix`` fills the variable of
    a dynamic URL button; ``coupon_code`` is what a copy-code button copies; ``flow_token`` identifies the
    flow session a flow button opens. ``label`` is the button's text when known (checked, never sent)."""

    kind: ButtonKind
    label: str | None = None
    payload: str | None = None
    url_suffix: str | None = None
    coupon_code: str | None = None
    flow_token: str | None = None

    @property
    def has_parameters(self) -> bool:
        """Whether the send request must carry a component for this button (static buttons need none)."""
        return any(value is not None for value in (self.payload, self.url_suffix, self.coupon_code, self.flow_token))


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


def placeholder_names(text: str) -> list[str]:
    """Every variable used in ``text``, in order of appearance (``"{{2}} {{name}}"`` -> ``["2", "name"]``)."""
    return [match.group(1) for match in PLACEHOLDER.finditer(text)]


def placeholder_numbers(text: str) -> list[int]:
    """The numbered variables used in ``text``, in order of appearance (``"{{2}} {{1}}"`` -> ``[2, 1]``)."""
    return [int(name) for name in placeholder_names(text) if name.isdigit()]


def render(text: str, parameters: Sequence[VariableValue]) -> str:
    """``text`` with ``{{n}}`` replaced by ``parameters[n - 1]`` and ``{{name}}`` by the parameter of that
    name (currency and date_time by their fallback value); variables without a value are left as is."""
    values = {str(index): display_text(value) for index, value in enumerate(parameters, start=1)}
    values.update({name: display_text(value) for value in parameters if (name := parameter_name(value)) is not None})

    def substitute(match: re.Match[str]) -> str:
        return values.get(match.group(1), match.group(0))

    return PLACEHOLDER.sub(substitute, text)
