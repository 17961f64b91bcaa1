"""The values a template send fills its variables with, one class per parameter type Meta defines.

A header or body variable takes a :class:`TextParameter` (a plain ``str`` is shorthand for one), a
:class:`CurrencyParameter` or a :class:`DateTimeParameter`; each may carry the variable's ``name`` when the
template uses named parameters (``{{order_id}}``) instead of numbered ones (``{{1}}``). A media header takes
its media on :class:`~dispatcher_core.messaging.template.HeaderComponent`; a location header a
:class:`LocationParameter`. Buttons carry their own values (payload, URL suffix, coupon code, flow token) on
:class:`~dispatcher_core.messaging.template.ButtonComponent`.

Meta localises nothing on the Cloud API: currency and date_time are always shown as their ``fallback_value``,
which is therefore what the validator counts when it renders a text.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "CurrencyParameter",
    "DateTimeParameter",
    "LocationParameter",
    "ParameterType",
    "TemplateParameter",
    "TextParameter",
    "VariableValue",
    "display_text",
    "parameter_name",
    "parameter_type",
]


class ParameterType(enum.StrEnum):
    """Meta's ``type`` of a template parameter (what a catalogue entry expects, what a send carries)."""

    TEXT = "text"
    CURRENCY = "currency"
    DATE_TIME = "date_time"
    IMAGE = "image"
    VIDEO = "video"
    DOCUMENT = "document"
    LOCATION = "location"
    PAYLOAD = "payload"
    COUPON_CODE = "coupon_code"
    ACTION = "action"


@dataclass(frozen=True, slots=True)
class TextParameter:
    """A text value; ``name`` is the variable's name for templates with named parameters."""

    text: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class CurrencyParameter:
    """An amount: ``amount_1000`` is the amount times 1000 (``12.50`` -> ``12500``), ``code`` its ISO 4217
    code, ``fallback_value`` the text shown (the Cloud API always shows it)."""

    fallback_value: str
    code: str
    amount_1000: int
    name: str | None = None


@dataclass(frozen=True, slots=True)
class DateTimeParameter:
    """A date or time, shown as ``fallback_value``."""

    fallback_value: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class LocationParameter:
    """The map of a location header: coordinates in decimal degrees, optional name and address."""

    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None


#: What fills a text variable of a header or body (a ``str`` is a positional text parameter).
VariableValue = str | TextParameter | CurrencyParameter | DateTimeParameter
TemplateParameter = TextParameter | CurrencyParameter | DateTimeParameter | LocationParameter


def display_text(value: VariableValue) -> str:
    """What the customer sees in place of the variable."""
    if isinstance(value, str):
        return value
    if isinstance(value, TextParameter):
        return value.text
    return value.fallback_value


def parameter_name(value: VariableValue) -> str | None:
    return None if isinstance(value, str) else value.name


def parameter_type(value: VariableValue) -> ParameterType:
    if isinstance(value, str | TextParameter):
        return ParameterType.TEXT
    if isinstance(value, CurrencyParameter):
        return ParameterType.CURRENCY
    return ParameterType.DATE_TIME
