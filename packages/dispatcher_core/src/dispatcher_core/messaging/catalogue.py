"""The approved-template catalogue: what Meta says each template is, and a send checked against it.

Meta refuses a template send whose name, language or parameters do not match an approved template (Graph
errors 132000, 132001, 132005, 132012...), after the message was queued and counted. The catalogue - synced
from ``GET /{waba-id}/message_templates`` and kept current by ``message_template_status_update`` webhooks,
stored behind the :class:`~dispatcher_core.ports.template_catalogue.TemplateCatalogue` port - lets
:class:`~dispatcher_core.messaging.template_check.TemplateCatalogueCheck` refuse such a send before anything
is queued, with every mismatch named like the validator's issues (``body.parameters``, ``header``, ``buttons[1]``...).

:class:`TemplateDefinition` keeps what a send must agree with: the status, the header's format, the header,
body and footer texts (their variables give the count or the names of the values to send, and their rendered
length is checked), and each button's kind and whether a send must give its value.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from dispatcher_core.messaging.errors import TemplateValidationError, ValidationIssue
from dispatcher_core.messaging.parameters import VariableValue, parameter_name
from dispatcher_core.messaging.template import (
    BodyComponent,
    ButtonComponent,
    ButtonKind,
    FooterComponent,
    HeaderComponent,
    HeaderFormat,
    TemplateMessage,
    placeholder_names,
)
from dispatcher_core.messaging.validation import TemplateMessageValidator

__all__ = [
    "APPROVED",
    "ParameterFormat",
    "TemplateButton",
    "TemplateDefinition",
    "TemplateNotApproved",
    "catalogue_issues",
]

#: Meta's status of a template that can be sent. Others: PENDING, REJECTED, PAUSED, DISABLED, IN_APPEAL,
#: PENDING_DELETION, ARCHIVED, LIMIT_EXCEEDED... kept as Meta spells them.
APPROVED = "APPROVED"


class ParameterFormat(enum.StrEnum):
    POSITIONAL = "POSITIONAL"
    NAMED = "NAMED"


@dataclass(frozen=True, slots=True)
class TemplateButton:
    """One button of a template definition. ``needs_value``: a send must give its value (a URL button whose
    URL has a variable, a copy-code button). ``kind`` is ``None`` for a kind this sender cannot fill (catalog,
    multi-product...): such a button may have no value in a send."""

    kind: ButtonKind | None
    text: str | None = None
    needs_value: bool = False


@dataclass(frozen=True, slots=True)
class TemplateDefinition:
    """A template as Meta holds it, keyed by (``name``, ``language``)."""

    name: str
    language: str
    status: str
    updated_at: datetime
    template_id: str | None = None
    category: str | None = None
    parameter_format: ParameterFormat = ParameterFormat.POSITIONAL
    header_format: HeaderFormat | None = None
    header_text: str | None = None
    body_text: str | None = None
    footer_text: str | None = None
    buttons: tuple[TemplateButton, ...] = ()

    @property
    def approved(self) -> bool:
        return self.status == APPROVED

    def with_status(self, status: str, at: datetime) -> TemplateDefinition:
        return replace(self, status=status, updated_at=at)


class TemplateNotApproved(TemplateValidationError):
    """The template is not in the catalogue, or not approved: Meta would refuse the send."""


def _variables(text: str | None) -> list[str]:
    """The distinct variables of a text in order of first appearance."""
    seen: list[str] = []
    for name in placeholder_names(text or ""):
        if name not in seen:
            seen.append(name)
    return seen


def catalogue_issues(message: TemplateMessage, definition: TemplateDefinition) -> list[ValidationIssue]:
    """Every way ``message`` disagrees with ``definition`` (empty: Meta should accept it)."""
    found: list[ValidationIssue] = []
    if not definition.approved:
        where = f"{definition.name!r} ({definition.language})"
        found.append(ValidationIssue("name", "an APPROVED template", f"{where} is {definition.status}"))
    found += _header_issues(message.header, definition)
    found += _values_issues(
        message.body.parameters if message.body is not None else (), definition.body_text, "body.parameters"
    )
    found += _buttons_issues(message.buttons, definition.buttons)
    if not found:
        # Rendered with the template's own texts, the message must still fit Meta's limits.
        found += TemplateMessageValidator().issues(_with_texts(message, definition))
    return found


def _header_issues(header: HeaderComponent | None, definition: TemplateDefinition) -> list[ValidationIssue]:
    expected = definition.header_format
    if expected is None:
        if header is not None and (header.format is not HeaderFormat.TEXT or header.parameters):
            return [ValidationIssue("header", "no header (the template has none)", f"a {header.format} header given")]
        return []
    if expected is HeaderFormat.TEXT:
        given = header.parameters if header is not None and header.format is HeaderFormat.TEXT else ()
        if header is not None and header.format is not HeaderFormat.TEXT:
            return [ValidationIssue("header", "a text header", f"a {header.format} header given")]
        return _values_issues(given, definition.header_text, "header.parameters")
    if header is None:
        return [ValidationIssue("header", f"a {expected} header", "none given")]
    if header.format is not expected:
        return [ValidationIssue("header", f"a {expected} header", f"a {header.format} header given")]
    return []


def _values_issues(values: Sequence[VariableValue], text: str | None, field: str) -> list[ValidationIssue]:
    variables = _variables(text)
    named = [name for name in variables if not name.isdigit()]
    if named:
        given = [parameter_name(value) for value in values]
        names = sorted(name for name in given if name is not None)
        if names != sorted(named) or None in given:
            return [
                ValidationIssue(field, f"the named values {', '.join(sorted(named))}", f"{', '.join(names) or 'none'}")
            ]
        return []
    if len(values) != len(variables):
        return [ValidationIssue(field, f"{len(variables)} values (the template's variables)", f"{len(values)} given")]
    return []


def _buttons_issues(buttons: Sequence[ButtonComponent], expected: Sequence[TemplateButton]) -> list[ValidationIssue]:
    found: list[ValidationIssue] = []
    if len(buttons) > len(expected):
        found.append(ValidationIssue("buttons", f"at most {len(expected)} (the template's)", f"{len(buttons)} given"))
    for index, spec in enumerate(expected):
        button = buttons[index] if index < len(buttons) else None
        where = f"buttons[{index}]"
        if button is not None and button.kind is not spec.kind:
            expected_kind = f"a {spec.kind} button" if spec.kind is not None else "no value (a kind we cannot fill)"
            found.append(ValidationIssue(where, expected_kind, f"a {button.kind} button given"))
        elif spec.needs_value and (button is None or not button.has_parameters):
            found.append(ValidationIssue(where, f"the value of its {spec.kind} button", "none given"))
    return found


def _with_texts(message: TemplateMessage, definition: TemplateDefinition) -> TemplateMessage:
    header = message.header
    if header is not None and header.format is HeaderFormat.TEXT and definition.header_text is not None:
        header = replace(header, text=definition.header_text)
    body = message.body
    if definition.body_text is not None:
        body = replace(body or BodyComponent(), text=definition.body_text)
    footer = FooterComponent(definition.footer_text) if definition.footer_text else message.footer
    buttons = (
        tuple(
            replace(button, label=spec.text) if spec.text and button.label is None else button
            for button, spec in zip(message.buttons, definition.buttons, strict=False)
        )
        + message.buttons[len(definition.buttons) :]
    )
    return replace(message, header=header, body=body, footer=footer, buttons=buttons)
