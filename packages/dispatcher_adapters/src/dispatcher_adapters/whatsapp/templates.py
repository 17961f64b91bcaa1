"""The approved-template catalogue kept in step with Meta: a full sync from Graph, and status webhooks.

* :meth:`TemplateSync.sync` reads every template of the WhatsApp Business Account
  (``GET {base}/{waba-id}/message_templates``, 100 a page, following ``paging.cursors.after``) and replaces
  the catalogue with them. A failed page leaves the catalogue as it was (:class:`TemplateSyncFailed`). The
  ``paging.next`` links Graph returns may carry the access token in their query string: they are never
  followed, logged or kept - the next request is built from the cursor.
* :meth:`TemplateSync.logged_sync` is what runs at start and then periodically
  (:meth:`~dispatcher_adapters.whatsapp.service.WhatsAppSending.maintain`).
* :meth:`TemplateSync.handle_webhook` applies ``message_template_status_update`` changes to the catalogue. The
  ``event`` says what happened, which is not always the new status (:data:`EVENT_STATUS`): ``FLAGGED``,
  ``LOCKED`` and ``UNLOCKED`` leave a template sendable as it was, ``REINSTATED`` makes it ``APPROVED``; an
  event whose resulting status cannot be known (``UNARCHIVED`` returns to the status before archiving, or an
  event Meta adds later) and a template the catalogue does not know yet (just approved) trigger a background
  sync instead, so the webhook is answered at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from dispatcher_adapters.whatsapp.payloads import parse_error
from dispatcher_core.errors import DispatcherError
from dispatcher_core.messaging.catalogue import ParameterFormat, TemplateButton, TemplateDefinition
from dispatcher_core.messaging.template import ButtonKind, HeaderFormat
from dispatcher_core.ports.clock import Clock
from dispatcher_core.ports.template_catalogue import TemplateCatalogue

__all__ = [
    "EVENTS_WITHOUT_STATUS_CHANGE",
    "EVENT_STATUS",
    "TemplateStatusChange",
    "TemplateSync",
    "TemplateSyncFailed",
    "parse_status_changes",
    "parse_template",
]

_log = logging.getLogger(__name__)

_FIELDS = "id,name,language,status,category,parameter_format,components"
_PAGE_SIZE = 100
#: A bound on pages, so a Graph that keeps answering "more" cannot keep a sync running forever.
_MAX_PAGES = 1000
_HEADER_FORMATS = {"TEXT", "IMAGE", "VIDEO", "DOCUMENT", "LOCATION"}
_BUTTON_KINDS = {
    "QUICK_REPLY": ButtonKind.QUICK_REPLY,
    "URL": ButtonKind.URL,
    "PHONE_NUMBER": ButtonKind.PHONE_NUMBER,
    "COPY_CODE": ButtonKind.COPY_CODE,
    "FLOW": ButtonKind.FLOW,
    # An authentication template's one-time-password button is sent as a URL button carrying the code.
    "OTP": ButtonKind.URL,
}


#: The status a template has after each ``message_template_status_update`` event, when the event says it.
EVENT_STATUS = {
    **{
        status: status
        for status in (
            "APPROVED",
            "REJECTED",
            "PAUSED",
            "DISABLED",
            "PENDING",
            "PENDING_DELETION",
            "IN_APPEAL",
            "ARCHIVED",
            "DELETED",
            "LIMIT_EXCEEDED",
        )
    },
    "REINSTATED": "APPROVED",
}
#: Events that leave the status as it was (the template can still be sent).
EVENTS_WITHOUT_STATUS_CHANGE = frozenset({"FLAGGED", "LOCKED", "UNLOCKED"})


class TemplateSyncFailed(DispatcherError):
    """Graph did not give the template list; the catalogue is unchanged. The message never holds the token."""


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def parse_template(raw: object, now: datetime) -> TemplateDefinition | None:
    """One entry of ``message_templates`` as a definition; ``None`` when it has no name or language."""
    if not isinstance(raw, Mapping):
        return None
    name, language = _text(raw.get("name")), _text(raw.get("language"))
    if not name or not language:
        return None
    header_format: HeaderFormat | None = None
    header_text = body_text = footer_text = None
    buttons: list[TemplateButton] = []
    components = raw.get("components")
    for component in components if isinstance(components, list) else ():
        if not isinstance(component, Mapping):
            continue
        kind = str(component.get("type", "")).upper()
        if kind == "HEADER":
            declared = str(component.get("format", "TEXT")).upper()
            header_format = HeaderFormat(declared.lower()) if declared in _HEADER_FORMATS else None
            header_text = _text(component.get("text"))
        elif kind == "BODY":
            body_text = _text(component.get("text"))
        elif kind == "FOOTER":
            footer_text = _text(component.get("text"))
        elif kind == "BUTTONS":
            entries = component.get("buttons")
            buttons += [_button(entry) for entry in (entries if isinstance(entries, list) else ())]
    parameter_format = str(raw.get("parameter_format", "POSITIONAL")).upper()
    return TemplateDefinition(
        name=name,
        language=language,
        status=str(raw.get("status") or "UNKNOWN").upper(),
        updated_at=now,
        template_id=_text(raw.get("id")),
        category=_text(raw.get("category")),
        parameter_format=ParameterFormat.NAMED if parameter_format == "NAMED" else ParameterFormat.POSITIONAL,
        header_format=header_format,
        header_text=header_text,
        body_text=body_text,
        footer_text=footer_text,
        buttons=tuple(buttons),
    )


def _button(raw: object) -> TemplateButton:
    if not isinstance(raw, Mapping):
        return TemplateButton(None)
    declared = str(raw.get("type", "")).upper()
    kind = _BUTTON_KINDS.get(declared)
    url = _text(raw.get("url")) or ""
    needs_value = declared in ("COPY_CODE", "OTP") or (kind is ButtonKind.URL and "{{" in url)
    return TemplateButton(kind, _text(raw.get("text")), needs_value)


class TemplateStatusChange:
    """One ``message_template_status_update`` change: ``event`` (the new status) of (``name``, ``language``)."""

    __slots__ = ("at", "event", "language", "name")

    def __init__(self, name: str, language: str, event: str, at: datetime | None) -> None:
        self.name, self.language, self.event, self.at = name, language, event, at


def parse_status_changes(payload: object) -> list[TemplateStatusChange]:
    """Every ``message_template_status_update`` change of a webhook body (other fields are ignored)."""
    changes: list[TemplateStatusChange] = []
    entries = payload.get("entry") if isinstance(payload, Mapping) else None
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, Mapping):
            continue
        seconds = entry.get("time")
        at = (
            datetime.fromtimestamp(seconds, UTC)
            if isinstance(seconds, int | float) and not isinstance(seconds, bool)
            else None
        )
        entry_changes = entry.get("changes")
        for change in entry_changes if isinstance(entry_changes, list) else ():
            if not isinstance(change, Mapping) or change.get("field") != "message_template_status_update":
                continue
            value = change.get("value")
            if not isinstance(value, Mapping):
                continue
            name = _text(value.get("message_template_name"))
            language = _text(value.get("message_template_language"))
            event = _text(value.get("event"))
            if name and language and event:
                changes.append(TemplateStatusChange(name, language, event.upper(), at))
    return changes


class TemplateSync:
    """Keeps a :class:`~dispatcher_core.ports.TemplateCatalogue` in step with the account's templates."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        access_token: str,
        base_url: str,
        business_account_id: str,
        catalogue: TemplateCatalogue,
        clock: Clock,
    ) -> None:
        self._client = client
        self._headers = {"Authorization": f"Bearer {access_token}"}
        self._url = f"{base_url.rstrip('/')}/{business_account_id}/message_templates"
        self.catalogue = catalogue
        self._clock = clock
        self._background: asyncio.Task[None] | None = None

    async def sync(self) -> int:
        """Replace the catalogue with every template Graph lists; returns how many were stored."""
        now = self._clock.now()
        templates: list[TemplateDefinition] = []
        after: str | None = None
        for _ in range(_MAX_PAGES):
            params = {"fields": _FIELDS, "limit": str(_PAGE_SIZE)}
            if after is not None:
                params["after"] = after
            page = await self._page(params)
            data = page.get("data")
            templates += [
                template
                for raw in (data if isinstance(data, list) else ())
                if (template := parse_template(raw, now)) is not None
            ]
            after = _next_cursor(page)
            if after is None:
                break
        await self.catalogue.replace_all(templates)
        return len(templates)

    async def _page(self, params: Mapping[str, str]) -> Mapping[str, Any]:
        try:
            response = await self._client.get(self._url, params=params, headers=self._headers)
        except httpx.HTTPError as exc:
            raise TemplateSyncFailed(f"template list not read: {type(exc).__name__}") from None
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if not response.is_success or not isinstance(payload, Mapping):
            error = parse_error(payload, response.status_code)
            raise TemplateSyncFailed(
                f"template list refused: HTTP {response.status_code}, code {error.code}: {error.title}"
            )
        return payload

    async def handle_webhook(self, payload: object) -> int:
        """Apply the template status changes of a webhook body; returns how many changed the catalogue. A
        change for a template the catalogue lacks, or whose resulting status the event does not say, starts a
        background sync."""
        applied = 0
        resync = False
        for change in parse_status_changes(payload):
            if change.event in EVENTS_WITHOUT_STATUS_CHANGE:
                continue
            status = EVENT_STATUS.get(change.event)
            if status is None:  # the status it leads to is not in the event: ask Graph
                resync = True
                continue
            at = change.at or self._clock.now()
            if await self.catalogue.set_status(change.name, change.language, status, at):
                applied += 1
            elif await self.catalogue.get(change.name, change.language) is None:
                resync = True
        if resync:
            self.request_sync()
        return applied

    def request_sync(self) -> None:
        """Start a sync in the background unless one is running."""
        if self._background is None or self._background.done():
            self._background = asyncio.create_task(self.logged_sync(), name="whatsapp-template-sync")

    async def logged_sync(self) -> None:
        """:meth:`sync`, with its outcome logged instead of raised (background and periodic syncs)."""
        try:
            count = await self.sync()
        except Exception as exc:  # logged and retried at the next interval: the catalogue stays as it was
            _log.warning("WhatsApp template sync failed: %s", exc)
        else:
            _log.info("WhatsApp template catalogue synced: %d templates", count)

    async def aclose(self) -> None:
        if self._background is not None:
            self._background.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._background


def _next_cursor(page: Mapping[str, Any]) -> str | None:
    paging = page.get("paging")
    if not isinstance(paging, Mapping) or not paging.get("next"):
        return None
    cursors = paging.get("cursors")
    after = cursors.get("after") if isinstance(cursors, Mapping) else None
    return after if isinstance(after, str) and after else None


def definitions_summary(templates: Sequence[TemplateDefinition]) -> list[dict[str, Any]]:
    """The catalogue as plain JSON values (what ``/admin/templates`` shows)."""
    return [
        {
            "name": template.name,
            "language": template.language,
            "status": template.status,
            "category": template.category,
            "parameter_format": template.parameter_format.value,
            "header": template.header_format.value if template.header_format is not None else None,
            "body": template.body_text,
            "buttons": [
                {"kind": button.kind.value if button.kind is not None else None, "text": button.text}
                for button in template.buttons
            ],
            "updated_at": template.updated_at.isoformat(),
        }
        for template in templates
    ]
