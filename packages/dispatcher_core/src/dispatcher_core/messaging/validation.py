"""``TemplateMessageValidator`` and the checks on text messages and recipients (seed phase 1).

Every check names the field (a path such as ``buttons[3].label``) and the limit it breaks. The template
validator collects every issue before raising, so one round trip tells the caller everything to fix.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from dispatcher_core.messaging.errors import InvalidMessage, TemplateValidationError, ValidationIssue
from dispatcher_core.messaging.limits import TEXT_MAX_LENGTH, TemplateLimits
from dispatcher_core.messaging.template import (
    BodyComponent,
    ButtonComponent,
    ButtonKind,
    FooterComponent,
    HeaderComponent,
    HeaderFormat,
    TemplateMessage,
    placeholder_numbers,
    render,
)

__all__ = ["TemplateMessageValidator", "validate_recipient", "validate_text_body"]

_NAME = re.compile(r"[a-z0-9_]+")
_LANGUAGE = re.compile(r"[a-z]{2,3}(_[A-Za-z]{2,4})?")
_RECIPIENT = re.compile(r"\+?[0-9]{5,20}")
_MEDIA_SCHEMES = ("https://", "http://")

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
            total = sum(len(parameter) for parameter in body.parameters)
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
        match button.kind:
            case ButtonKind.QUICK_REPLY:
                if button.url_suffix is not None:
                    found.append(ValidationIssue(f"{field}.url_suffix", "URL buttons only", "given for a quick reply"))
                if button.payload is not None and not button.payload:
                    found.append(ValidationIssue(f"{field}.payload", "a non-empty payload", "is empty"))
            case ButtonKind.URL:
                if button.payload is not None:
                    found.append(ValidationIssue(f"{field}.payload", "quick replies only", "given for a URL button"))
                if button.url_suffix is not None and not button.url_suffix.strip():
                    found.append(ValidationIssue(f"{field}.url_suffix", "a non-empty URL variable", "is empty"))
            case ButtonKind.PHONE_NUMBER:
                if button.has_parameters:
                    found.append(ValidationIssue(field, "a phone button has no parameters", "has a payload or URL"))
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

    def _check_parameters(self, parameters: Sequence[str], field: str, found: Issues) -> None:
        spaces = " " * (self.limits.consecutive_spaces + 1)
        for index, parameter in enumerate(parameters):
            where = f"{field}[{index}]"
            if not isinstance(parameter, str) or not parameter.strip():
                found.append(ValidationIssue(where, "a non-blank text", f"is {parameter!r}"))
            elif "\n" in parameter or "\t" in parameter:
                found.append(ValidationIssue(where, "no new line or tab", "contains one"))
            elif spaces in parameter:
                found.append(
                    ValidationIssue(where, f"at most {self.limits.consecutive_spaces} consecutive spaces", "has more")
                )

    @staticmethod
    def _check_text(text: str | None, parameters: Sequence[str], limit: int, field: str, found: Issues) -> None:
        """The template's text: its variables are exactly 1..n with n values given, and rendered it fits."""
        if text is None:
            return
        if not text.strip():
            found.append(ValidationIssue(field, f"1 to {limit} characters", "is empty"))
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
