"""``TemplateMessageBuilder`` and the header/body/button component builders (seed phase 1).

The builders only assemble values; every rule lives in :class:`TemplateMessageValidator`, which ``build``
runs, so a builder can never produce a message the validator would refuse::

    message = (
        TemplateMessageBuilder("order_update", "en_US")
        .header(HeaderComponentBuilder().text("Order {{1}}").parameter("A-42"))
        .body(BodyComponentBuilder().text("Hello {{1}}, it ships {{2}}.").parameters("Ana", "today"))
        .footer("Reply STOP to opt out")
        .button(ButtonComponentBuilder.quick_reply(payload="track-A-42").label("Track"))
        .build()
    )

Values of every type Meta defines: ``.currency("€12.50", "EUR", 12500)``, ``.date_time("5 December 2026")``,
named variables (``.named("first_name", "Ana")``), media and location headers, copy-code and flow buttons.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

from dispatcher_core.messaging.errors import TemplateValidationError, ValidationIssue
from dispatcher_core.messaging.limits import TemplateLimits
from dispatcher_core.messaging.parameters import (
    CurrencyParameter,
    DateTimeParameter,
    LocationParameter,
    TextParameter,
    VariableValue,
)
from dispatcher_core.messaging.template import (
    BodyComponent,
    ButtonComponent,
    ButtonKind,
    FooterComponent,
    HeaderComponent,
    HeaderFormat,
    TemplateMessage,
)
from dispatcher_core.messaging.validation import TemplateMessageValidator

__all__ = ["BodyComponentBuilder", "ButtonComponentBuilder", "HeaderComponentBuilder", "TemplateMessageBuilder"]


class HeaderComponentBuilder:
    """A text header with at most one variable, a media header (image, video, document) or a location."""

    def __init__(self, limits: TemplateLimits | None = None) -> None:
        self._validator = TemplateMessageValidator(limits)
        self._format = HeaderFormat.TEXT
        self._text: str | None = None
        self._parameters: list[VariableValue] = []
        self._link: str | None = None
        self._media_id: str | None = None
        self._filename: str | None = None
        self._location: LocationParameter | None = None

    def text(self, template_text: str | None = None) -> Self:
        """A text header; ``template_text`` is the template's header (with ``{{1}}``) when known."""
        self._format = HeaderFormat.TEXT
        self._text = template_text
        return self

    def parameter(self, value: VariableValue) -> Self:
        self._parameters.append(value)
        return self

    def named(self, name: str, text: str) -> Self:
        """The value of the named variable ``{{name}}``."""
        return self.parameter(TextParameter(text, name=name))

    def currency(self, fallback_value: str, code: str, amount_1000: int, *, name: str | None = None) -> Self:
        return self.parameter(CurrencyParameter(fallback_value, code, amount_1000, name=name))

    def date_time(self, fallback_value: str, *, name: str | None = None) -> Self:
        return self.parameter(DateTimeParameter(fallback_value, name=name))

    def location(
        self, latitude: float, longitude: float, *, name: str | None = None, address: str | None = None
    ) -> Self:
        """A location header: the map shown above the body."""
        self._format = HeaderFormat.LOCATION
        self._location = LocationParameter(latitude, longitude, name=name, address=address)
        return self

    def image(self, *, link: str | None = None, media_id: str | None = None) -> Self:
        return self._media(HeaderFormat.IMAGE, link, media_id)

    def video(self, *, link: str | None = None, media_id: str | None = None) -> Self:
        return self._media(HeaderFormat.VIDEO, link, media_id)

    def document(self, *, link: str | None = None, media_id: str | None = None, filename: str | None = None) -> Self:
        self._filename = filename
        return self._media(HeaderFormat.DOCUMENT, link, media_id)

    def _media(self, header_format: HeaderFormat, link: str | None, media_id: str | None) -> Self:
        self._format, self._link, self._media_id = header_format, link, media_id
        return self

    def build(self) -> HeaderComponent:
        header = HeaderComponent(
            format=self._format,
            text=self._text,
            parameters=tuple(self._parameters),
            media_link=self._link,
            media_id=self._media_id,
            filename=self._filename,
            location=self._location,
        )
        _raise_if(self._validator.header_issues(header))
        return header


class BodyComponentBuilder:
    """The body's variable values, in order (or by name)."""

    def __init__(self, limits: TemplateLimits | None = None) -> None:
        self._validator = TemplateMessageValidator(limits)
        self._text: str | None = None
        self._parameters: list[VariableValue] = []

    def text(self, template_text: str) -> Self:
        """The template's body (with ``{{1}}``, ``{{2}}``...), when known, so its rendered length is checked."""
        self._text = template_text
        return self

    def parameter(self, value: VariableValue) -> Self:
        self._parameters.append(value)
        return self

    def parameters(self, *values: VariableValue) -> Self:
        self._parameters.extend(values)
        return self

    def named(self, name: str, text: str) -> Self:
        """The value of the named variable ``{{name}}`` (templates whose parameter format is NAMED)."""
        return self.parameter(TextParameter(text, name=name))

    def currency(self, fallback_value: str, code: str, amount_1000: int, *, name: str | None = None) -> Self:
        """An amount: ``currency("€12.50", "EUR", 12500)``; the Cloud API shows ``fallback_value``."""
        return self.parameter(CurrencyParameter(fallback_value, code, amount_1000, name=name))

    def date_time(self, fallback_value: str, *, name: str | None = None) -> Self:
        """A date or time; the Cloud API shows ``fallback_value``."""
        return self.parameter(DateTimeParameter(fallback_value, name=name))

    def build(self) -> BodyComponent:
        body = BodyComponent(text=self._text, parameters=tuple(self._parameters))
        _raise_if(self._validator.body_issues(body))
        return body


class ButtonComponentBuilder:
    """One button; start from :meth:`quick_reply`, :meth:`url`, :meth:`phone_number`, :meth:`copy_code` or
    :meth:`flow`."""

    def __init__(
        self,
        kind: ButtonKind,
        *,
        payload: str | None = None,
        url_suffix: str | None = None,
        coupon_code: str | None = None,
        flow_token: str | None = None,
    ) -> None:
        self._kind = kind
        self._payload = payload
        self._url_suffix = url_suffix
        self._coupon_code = coupon_code
        self._flow_token = flow_token
        self._label: str | None = None
        self._limits: TemplateLimits | None = None

    @classmethod
    def quick_reply(cls, payload: str | None = None) -> ButtonComponentBuilder:
        """A quick-reply button; ``payload`` comes back in the webhook when the customer taps it."""
        return cls(ButtonKind.QUICK_REPLY, payload=payload)

    @classmethod
    def url(cls, suffix: str | None = None) -> ButtonComponentBuilder:
        """A URL button; ``suffix`` fills the variable of a dynamic URL (none for a static URL)."""
        return cls(ButtonKind.URL, url_suffix=suffix)

    @classmethod
    def phone_number(cls) -> ButtonComponentBuilder:
        return cls(ButtonKind.PHONE_NUMBER)

    @classmethod
    def copy_code(cls, coupon_code: str) -> ButtonComponentBuilder:
        """A copy-code button (coupon templates): ``coupon_code`` is what the customer copies."""
        return cls(ButtonKind.COPY_CODE, coupon_code=coupon_code)

    @classmethod
    def flow(cls, flow_token: str | None = None) -> ButtonComponentBuilder:
        """A flow button; ``flow_token`` comes back with the flow's answers (Meta's default when omitted)."""
        return cls(ButtonKind.FLOW, flow_token=flow_token)

    def label(self, text: str) -> Self:
        """The button's text as defined in the template (checked against the label limit, not sent)."""
        self._label = text
        return self

    def limits(self, limits: TemplateLimits) -> Self:
        self._limits = limits
        return self

    def build(self, index: int = 0) -> ButtonComponent:
        button = ButtonComponent(
            kind=self._kind,
            label=self._label,
            payload=self._payload,
            url_suffix=self._url_suffix,
            coupon_code=self._coupon_code,
            flow_token=self._flow_token,
        )
        _raise_if(TemplateMessageValidator(self._limits).button_issues(button, f"buttons[{index}]"))
        return button


class TemplateMessageBuilder:
    """Assembles a :class:`TemplateMessage`; :meth:`build` validates the whole message and raises
    :class:`TemplateValidationError` listing every broken limit."""

    def __init__(self, name: str, language: str = "en_US", *, limits: TemplateLimits | None = None) -> None:
        self._validator = TemplateMessageValidator(limits)
        self._name = name
        self._language = language
        self._header: HeaderComponent | None = None
        self._body: BodyComponent | None = None
        self._footer: FooterComponent | None = None
        self._buttons: list[ButtonComponent | ButtonComponentBuilder] = []

    def header(self, header: HeaderComponent | HeaderComponentBuilder) -> Self:
        self._header = header.build() if isinstance(header, HeaderComponentBuilder) else header
        return self

    def body(self, body: BodyComponent | BodyComponentBuilder) -> Self:
        self._body = body.build() if isinstance(body, BodyComponentBuilder) else body
        return self

    def footer(self, text: str) -> Self:
        self._footer = FooterComponent(text)
        return self

    def button(self, button: ButtonComponent | ButtonComponentBuilder) -> Self:
        """Add the next button; buttons keep the order of the template's definition."""
        self._buttons.append(button)
        return self

    def build(self) -> TemplateMessage:
        buttons = tuple(
            item.build(index) if isinstance(item, ButtonComponentBuilder) else item
            for index, item in enumerate(self._buttons)
        )
        message = TemplateMessage(
            name=self._name,
            language=self._language,
            header=self._header,
            body=self._body,
            footer=self._footer,
            buttons=buttons,
        )
        self._validator.validate(message)
        return message


def _raise_if(issues: Sequence[ValidationIssue]) -> None:
    if issues:
        raise TemplateValidationError(issues)
