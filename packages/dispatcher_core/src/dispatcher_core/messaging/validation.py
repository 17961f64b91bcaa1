"""``TemplateMessageValidator`` and the checks on text messages and recipients (seed phase 1).

Every check names the field (a path such as ``buttons[3].label`` or ``body.parameters[1].currency.code``) and
the limit it breaks. Parameters of every type Meta defines are checked (text, named or positional; currency;
date_time; media and location headers; quick-reply, URL, copy-code and flow buttons). The template
validator collects every issue before raising, so one round trip tells the caller everything to fix.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from dispatcher_core.messaging.errors import InvalidMessage, TemplateValidationError, ValidationIssue
from dispatcher_core.messaging.limits import TEXT_MAX_LENGTH, TemplateLimits
from dispatcher_core.messaging.parameters import (
    CurrencyParameter,
    DateTimeParameter,
    LocationParameter,
    TextParameter,
    VariableValue,
    display_text,
    parameter_name,
)
from dispatcher_core.messaging.template import (
    BodyComponent,
    ButtonComponent,
    ButtonKind,
    FooterComponent,
    HeaderComponent,
    HeaderFormat,
    TemplateMessage,
    placeholder_names,
    placeholder_numbers,
    render,
)

__all__ = ["TemplateMessageValidator", "validate_recipient", "validate_text_body"]

_NAME = re.compile(r"[a-z0-9_]+")
_LANGUAGE = re.compile(r"[a-z]{2,3}(_[A-Za-z]{2,4})?")
_RECIPIENT = re.compile(r"\+?[0-9]{5,20}")
_MEDIA_SCHEMES = ("https://", "http://")
_PARAMETER_NAME = re.compile(r"[a-z][a-z0-9_]*")
_CURRENCY_CODE = re.compile(r"[A-Z]{3}")

Issues = list[ValidationIssue]


def validate_text_body(text: str, field: str = "text") -> None:
    """A text message: non-blank, at most 4096 characters."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidMessage(field, f"1 to {TEXT_MAX_LENGTH} characters", "is empty")
    if len(text) > TEXT_MAX_LENGTH:
        raise InvalidMessage(field, f"{TEXT_MAX_LENGTH} characters", f"is {len(text)} characters long")


def validate_recipient(to: str, field: str = "to") -> None:
    """A WhatsApp recipient: a phone number or WhatsApp id, digits only, with an optional leading ``+``."""
    if not isinstance(to, str) or not _RECIPIENT.fullmatch(to):
        raise InvalidMessage(field, "5 to 20 digits, optional leading '+'", f"{to!r} is not a phone number")


class TemplateMessageValidator:
    """Checks a template message against :class:`TemplateLimits` (Meta's by default)."""

    __slots__ = ("limits",)

    def __init__(self, limits: TemplateLimits | None = None) -> None:
        self.limits = limits or TemplateLimits()

    def validate(self, message: TemplateMessage) -> None:
        """Raise :class:`TemplateValidationError` listing every broken limit; return if there is none."""
        issues = self.issues(message)
        if issues:
            raise TemplateValidationError(issues)

    def issues(self, message: TemplateMessage) -> list[ValidationIssue]:
        found: Issues = []
        self._check_name(message.name, found)
        if not _LANGUAGE.fullmatch(message.language or ""):
            found.append(ValidationIssue("language", "a language code such as 'en' or 'en_US'", repr(message.language)))
        if message.header is not None:
            found += self.header_issues(message.header)
        if message.body is not None:
            found += self.body_issues(message.body)
        if message.footer is not None:
            found += self.footer_issues(message.footer)
        found += self.buttons_issues(message.buttons)
        return found

    def _check_name(self, name: str, found: Issues) -> None:
        limit = f"lowercase letters, digits and underscores, at most {self.limits.name_length} characters"
        if not name:
            found.append(ValidationIssue("name", limit, "is empty"))
        elif len(name) > self.limits.name_length:
            found.append(ValidationIssue("name", limit, f"is {len(name)} characters long"))
        elif not _NAME.fullmatch(name):
            found.append(ValidationIssue("name", limit, f"{name!r} has other characters"))

    def header_issues(self, header: HeaderComponent, field: str = "header") -> list[ValidationIssue]:
        found: Issues = []
        if header.format is not HeaderFormat.LOCATION and header.location is not None:
            found.append(ValidationIssue(f"{field}.location", "location headers only", f"a {header.format} header"))
        if header.format is HeaderFormat.LOCATION:
            if header.location is None:
                found.append(ValidationIssue(f"{field}.location", "a latitude and a longitude", "is missing"))
            else:
                found += _location_issues(header.location, f"{field}.location")
            if header.media_link is not None or header.media_id is not None or header.filename is not None:
                found.append(
                    ValidationIssue(field, "a location header has no media", "has a media link, id or filename")
                )
            if header.text is not None or header.parameters:
                found.append(ValidationIssue(field, "a location header has no text", "has text or text parameters"))
            return found
        if header.format is HeaderFormat.TEXT:
            if header.media_link is not None or header.media_id is not None or header.filename is not None:
                found.append(ValidationIssue(field, "a text header has no media", "has a media link, id or filename"))
            if len(header.parameters) > self.limits.header_parameters:
                found.append(
                    ValidationIssue(
                        f"{field}.parameters",
                        f"{self.limits.header_parameters} variable",
                        f"has {len(header.parameters)}",
                    )
                )
            self._check_parameters(header.parameters, f"{field}.parameters", found)
            self._check_text(header.text, header.parameters, self.limits.header_text_length, f"{field}.text", found)
            return found
        if (header.media_link is None) == (header.media_id is None):
            found.append(
                ValidationIssue(field, "exactly one of media_link and media_id", f"a {header.format} header needs one")
            )
        if header.media_link is not None and not header.media_link.startswith(_MEDIA_SCHEMES):
            found.append(ValidationIssue(f"{field}.media_link", "an http(s) URL", repr(header.media_link)))
        if header.media_id is not None and not header.media_id.strip():
            found.append(ValidationIssue(f"{field}.media_id", "a non-empty media id", "is empty"))
        if header.filename is not None and header.format is not HeaderFormat.DOCUMENT:
            found.append(ValidationIssue(f"{field}.filename", "documents only", f"given for a {header.format} header"))
        if header.text is not None or header.parameters:
            found.append(ValidationIssue(field, "a media header has no text", "has text or text parameters"))
        return found

    def body_issues(self, body: BodyComponent, field: str = "body") -> list[ValidationIssue]:
        found: Issues = []
        self._check_parameters(body.parameters, f"{field}.parameters", found)
        if body.text is not None:
            self._check_text(body.text, body.parameters, self.limits.body_text_length, f"{field}.text", found)
        else:
            # Without the template's text, the parameters alone are a lower bound of the rendered body.
            total = sum(len(display_text(parameter)) for parameter in body.parameters)
            if total > self.limits.body_text_length:
                found.append(
                    ValidationIssue(
                        f"{field}.parameters",
                        f"{self.limits.body_text_length} characters in the whole body",
                        f"add up to {total} characters",
                    )
                )
        return found

    def footer_issues(self, footer: FooterComponent, field: str = "footer") -> list[ValidationIssue]:
        limit = self.limits.footer_text_length
        if not footer.text.strip():
            return [ValidationIssue(f"{field}.text", f"1 to {limit} characters", "is empty")]
        if len(footer.text) > limit:
            return [ValidationIssue(f"{field}.text", f"{limit} characters", f"is {len(footer.text)} characters long")]
        return []

    def button_issues(self, button: ButtonComponent, field: str) -> list[ValidationIssue]:
        found: Issues = []
        limit = self.limits.button_label_length
        if button.label is not None:
            if not button.label.strip():
                found.append(ValidationIssue(f"{field}.label", f"1 to {limit} characters", "is empty"))
            elif len(button.label) > limit:
                found.append(
                    ValidationIssue(f"{field}.label", f"{limit} characters", f"is {len(button.label)} characters long")
                )
        values = {
            "payload": (button.payload, ButtonKind.QUICK_REPLY),
            "url_suffix": (button.url_suffix, ButtonKind.URL),
            "coupon_code": (button.coupon_code, ButtonKind.COPY_CODE),
            "flow_token": (button.flow_token, ButtonKind.FLOW),
        }
        for attribute, (value, owner) in values.items():
            if value is None:
                continue
            if owner is not button.kind:
                found.append(
                    ValidationIssue(
                        f"{field}.{attribute}", f"{owner} buttons only", f"given for a {button.kind} button"
                    )
                )
            elif not value.strip():
                found.append(ValidationIssue(f"{field}.{attribute}", "a non-blank value", "is empty"))
        if button.kind is ButtonKind.COPY_CODE:
            code_limit = self.limits.coupon_code_length
            if button.coupon_code is None:
                found.append(ValidationIssue(f"{field}.coupon_code", f"1 to {code_limit} characters", "is missing"))
            elif len(button.coupon_code) > code_limit:
                found.append(
                    ValidationIssue(
                        f"{field}.coupon_code",
                        f"{code_limit} characters",
                        f"is {len(button.coupon_code)} characters long",
                    )
                )
        return found

    def buttons_issues(self, buttons: Sequence[ButtonComponent]) -> list[ValidationIssue]:
        found: Issues = []
        if len(buttons) > self.limits.buttons:
            found.append(ValidationIssue("buttons", f"{self.limits.buttons} buttons", f"has {len(buttons)}"))
        url_buttons = sum(1 for button in buttons if button.kind is ButtonKind.URL)
        if url_buttons > self.limits.url_buttons:
            found.append(ValidationIssue("buttons", f"{self.limits.url_buttons} URL buttons", f"has {url_buttons}"))
        for index, button in enumerate(buttons):
            found += self.button_issues(button, f"buttons[{index}]")
        return found

    def _check_parameters(self, parameters: Sequence[VariableValue], field: str, found: Issues) -> None:
        names = [parameter_name(parameter) for parameter in parameters]
        if any(name is None for name in names) and any(name is not None for name in names):
            found.append(ValidationIssue(field, "all named or all positional", "mixes named and positional values"))
        seen: set[str] = set()
        for index, (parameter, name) in enumerate(zip(parameters, names, strict=True)):
            where = f"{field}[{index}]"
            if name is not None:
                if not _PARAMETER_NAME.fullmatch(name):
                    found.append(
                        ValidationIssue(f"{where}.name", "lowercase letters, digits and underscores", repr(name))
                    )
                elif name in seen:
                    found.append(ValidationIssue(f"{where}.name", "each name once", f"{name!r} is given twice"))
                seen.add(name)
            found += self._value_issues(parameter, where)

    def _value_issues(self, parameter: VariableValue, where: str) -> Issues:
        match parameter:
            case str() | TextParameter():
                return self._text_value_issues(parameter if isinstance(parameter, str) else parameter.text, where)
            case CurrencyParameter(fallback_value=fallback, code=code, amount_1000=amount):
                found = self._text_value_issues(fallback, f"{where}.currency.fallback_value")
                if not isinstance(code, str) or not _CURRENCY_CODE.fullmatch(code):
                    found.append(
                        ValidationIssue(f"{where}.currency.code", "an ISO 4217 code such as 'EUR'", repr(code))
                    )
                if isinstance(amount, bool) or not isinstance(amount, int):
                    found.append(
                        ValidationIssue(f"{where}.currency.amount_1000", "a whole number (amount x 1000)", repr(amount))
                    )
                return found
            case DateTimeParameter(fallback_value=fallback):
                return self._text_value_issues(fallback, f"{where}.date_time.fallback_value")
            case _:  # not a value type at all (an untyped caller): refused like any bad value
                kind = type(parameter).__name__  # type: ignore[unreachable]  # the types say it cannot happen
                return [ValidationIssue(where, "a text, currency or date_time value", f"is a {kind}")]

    def _text_value_issues(self, value: object, where: str) -> Issues:
        spaces = " " * (self.limits.consecutive_spaces + 1)
        if not isinstance(value, str) or not value.strip():
            return [ValidationIssue(where, "a non-blank text", f"is {value!r}")]
        if "\n" in value or "\t" in value:
            return [ValidationIssue(where, "no new line or tab", "contains one")]
        if spaces in value:
            return [ValidationIssue(where, f"at most {self.limits.consecutive_spaces} consecutive spaces", "has more")]
        return []

    @staticmethod
    def _check_text(
        text: str | None, parameters: Sequence[VariableValue], limit: int, field: str, found: Issues
    ) -> None:
        """The template's text: its variables are exactly 1..n with n values given (or exactly the names
        given), and rendered it fits."""
        if text is None:
            return
        if not text.strip():
            found.append(ValidationIssue(field, f"1 to {limit} characters", "is empty"))
            return
        named = {name for name in placeholder_names(text) if not name.isdigit()}
        given = {name for parameter in parameters if (name := parameter_name(parameter)) is not None}
        if named or given:
            if named != given:
                found.append(
                    ValidationIssue(
                        field.rsplit(".", 1)[0] + ".parameters",
                        f"one value per variable of the text ({', '.join(sorted(named)) or 'none'})",
                        f"{', '.join(sorted(given)) or 'none'} given",
                    )
                )
            rendered = render(text, parameters)
            if len(rendered) > limit:
                found.append(
                    ValidationIssue(field, f"{limit} characters", f"is {len(rendered)} characters once rendered")
                )
            return
        numbers = sorted(set(placeholder_numbers(text)))
        if numbers != list(range(1, len(numbers) + 1)):
            found.append(ValidationIssue(field, "variables numbered {{1}}, {{2}}, ... without gaps", str(numbers)))
        elif len(numbers) != len(parameters):
            found.append(
                ValidationIssue(
                    field.rsplit(".", 1)[0] + ".parameters",
                    f"one value per variable of the text ({len(numbers)})",
                    f"{len(parameters)} given",
                )
            )
        rendered = render(text, parameters)
        if len(rendered) > limit:
            found.append(ValidationIssue(field, f"{limit} characters", f"is {len(rendered)} characters once rendered"))


def _location_issues(location: LocationParameter, field: str) -> Issues:
    found: Issues = []
    for attribute, bound in (("latitude", 90.0), ("longitude", 180.0)):
        value = getattr(location, attribute)
        if isinstance(value, bool) or not isinstance(value, int | float) or not -bound <= value <= bound:
            found.append(ValidationIssue(f"{field}.{attribute}", f"a number from -{bound:g} to {bound:g}", repr(value)))
    for attribute in ("name", "address"):
        value = getattr(location, attribute)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            found.append(ValidationIssue(f"{field}.{attribute}", "a non-blank text when given", repr(value)))
    return found
