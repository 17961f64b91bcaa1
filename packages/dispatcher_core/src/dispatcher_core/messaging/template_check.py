"""A template send checked against the approved-template catalogue before it is queued."""

from __future__ import annotations

from dispatcher_core.messaging.catalogue import TemplateDefinition, TemplateNotApproved, catalogue_issues
from dispatcher_core.messaging.errors import TemplateValidationError, ValidationIssue
from dispatcher_core.messaging.template import TemplateMessage
from dispatcher_core.ports.template_catalogue import TemplateCatalogue

__all__ = ["TemplateCatalogueCheck"]


class TemplateCatalogueCheck:
    """Checks a template send against the catalogue before it is queued.

    Only a deployment that keeps a catalogue (``WHATSAPP_BUSINESS_ACCOUNT_ID`` set) checks; without one, sends
    go to Meta as before and Meta's answer is the check.
    """

    __slots__ = ("_catalogue",)

    def __init__(self, catalogue: TemplateCatalogue) -> None:
        self._catalogue = catalogue

    async def check(self, message: TemplateMessage) -> TemplateDefinition:
        """The definition ``message`` matches; :class:`TemplateNotApproved` when the catalogue has no such
        template or it is not approved, :class:`TemplateValidationError` listing every mismatch otherwise."""
        definition = await self._catalogue.get(message.name, message.language)
        if definition is None:
            known = sorted(
                {f"{entry.name} ({entry.language})" for entry in await self._catalogue.list() if entry.approved}
            )
            detail = f"{message.name!r} ({message.language}) is not in the approved-template catalogue"
            limit = "an approved template: " + (", ".join(known[:20]) or "the catalogue is empty")
            raise TemplateNotApproved([ValidationIssue("name", limit, detail)])
        issues = catalogue_issues(message, definition)
        if not definition.approved:
            raise TemplateNotApproved(issues)
        if issues:
            raise TemplateValidationError(issues)
        return definition
