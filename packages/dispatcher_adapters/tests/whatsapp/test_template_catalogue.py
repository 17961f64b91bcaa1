"""The approved-template catalogue: synced from the fake Graph over HTTP (with paging), kept current by status
webhooks, and template sends checked against it before anything is queued or reaches Graph."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from dispatcher_adapters.memory import MemoryEventBus, MemoryOutbox, MemoryStore, MemoryTemplateCatalogue
from dispatcher_adapters.whatsapp.service import WhatsAppSending
from dispatcher_adapters.whatsapp.settings import WhatsAppSettings
from dispatcher_adapters.whatsapp.templates import TemplateSync, TemplateSyncFailed, parse_template
from dispatcher_core import DispatcherOrchestrator
from dispatcher_core.messaging import (
    BodyComponentBuilder,
    BulkSendTemplate,
    ButtonComponentBuilder,
    ButtonKind,
    HeaderComponentBuilder,
    HeaderFormat,
    SendTemplateMessage,
    TemplateMessageBuilder,
    TemplateValidationError,
)
from dispatcher_core.messaging.catalogue import ParameterFormat, TemplateButton, TemplateNotApproved
from dispatcher_core.testing import ManualClock

from .conftest import TOKEN
from .fake_graph import FakeGraph, graph_error

WABA = "102290129340398"

#: Shaped like the example of Meta's "Get templates" reference (named parameters, image header).
RESERVATION: dict[str, Any] = {
    "name": "reservation_confirmation",
    "parameter_format": "NAMED",
    "components": [
        {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["https://scontent.example/x"]}},
        {
            "type": "BODY",
            "text": "*You're all set!*\n\nYour reservation for {{number_of_guests}} at Lucky Shrub Eatery on {{day}},"
            " {{date}}, at {{time}}, is confirmed. See you then!",
        },
        {"type": "FOOTER", "text": "Lucky Shrub Eatery: The Luckiest Eatery in Town!"},
        {
            "type": "BUTTONS",
            "buttons": [
                {"type": "URL", "text": "Change reservation", "url": "https://www.example.com/reservation/{{1}}"},
                {"type": "PHONE_NUMBER", "text": "Call us", "phone_number": "+15555551234"},
                {"type": "QUICK_REPLY", "text": "Cancel"},
            ],
        },
    ],
    "language": "en_US",
    "status": "APPROVED",
    "category": "UTILITY",
    "id": "546151681022936",
}

PAYMENT: dict[str, Any] = {
    "name": "payment_due",
    "components": [
        {"type": "BODY", "text": "Hello {{1}}, {{2}} is due on {{3}}."},
        {"type": "BUTTONS", "buttons": [{"type": "COPY_CODE", "example": ["SAVE20"]}]},
    ],
    "language": "fr",
    "status": "APPROVED",
    "category": "UTILITY",
    "id": "1",
}


def filler(index: int) -> dict[str, Any]:
    return {"name": f"filler_{index:03d}", "language": "en", "status": "APPROVED", "components": [], "id": str(index)}


@pytest.fixture
def account_settings(settings: WhatsAppSettings) -> WhatsAppSettings:
    return replace(settings, business_account_id=WABA)


@pytest.fixture
async def sending(
    account_settings: WhatsAppSettings, clock: ManualClock, registry: CollectorRegistry
) -> AsyncIterator[WhatsAppSending]:
    store = MemoryStore()
    orchestrator = DispatcherOrchestrator(uow_factory=store.unit_of_work, publisher=MemoryEventBus(), clock=clock)
    async with WhatsAppSending(
        account_settings,
        outbox=MemoryOutbox(),
        clock=clock,
        uow_factory=store.unit_of_work,
        orchestrator=orchestrator,
        registry=registry,
        catalogue=MemoryTemplateCatalogue(),
    ) as sending:
        yield sending


def sync_of(sending: WhatsAppSending) -> TemplateSync:
    assert sending.templates is not None
    return sending.templates


def test_a_graph_template_becomes_a_definition(clock: ManualClock) -> None:
    definition = parse_template(RESERVATION, clock.now())
    assert definition is not None
    assert (definition.name, definition.language, definition.status) == (
        "reservation_confirmation",
        "en_US",
        "APPROVED",
    )
    assert (definition.template_id, definition.category) == ("546151681022936", "UTILITY")
    assert definition.parameter_format is ParameterFormat.NAMED
    assert definition.header_format is HeaderFormat.IMAGE
    assert definition.footer_text == "Lucky Shrub Eatery: The Luckiest Eatery in Town!"
    assert definition.buttons == (
        TemplateButton(ButtonKind.URL, "Change reservation", needs_value=True),
        TemplateButton(ButtonKind.PHONE_NUMBER, "Call us"),
        TemplateButton(ButtonKind.QUICK_REPLY, "Cancel"),
    )
    assert parse_template({"language": "en"}, clock.now()) is None


async def test_sync_reads_every_page_and_never_follows_the_token_bearing_next_link(
    sending: WhatsAppSending, fake_graph: FakeGraph
) -> None:
    fake_graph.templates = [RESERVATION, PAYMENT, *(filler(index) for index in range(248))]
    assert await sync_of(sending).sync() == 250
    assert len(fake_graph.reads) == 3  # 100 a page
    assert all(read.path.startswith(f"{fake_graph.base_url}/{WABA}/message_templates") for read in fake_graph.reads)
    assert all(read.headers["authorization"] == f"Bearer {TOKEN}" for read in fake_graph.reads)
    assert all(TOKEN not in read.path for read in fake_graph.reads)
    assert [read.body.get("after") for read in fake_graph.reads] == [None, "100", "200"]
    catalogue = sync_of(sending).catalogue
    assert len(await catalogue.list()) == 250
    payment = await catalogue.get("payment_due", "fr")
    assert payment is not None
    assert payment.buttons == (TemplateButton(ButtonKind.COPY_CODE, None, needs_value=True),)


async def test_a_resync_removes_deleted_templates_and_a_failed_one_changes_nothing(
    sending: WhatsAppSending, fake_graph: FakeGraph, caplog: pytest.LogCaptureFixture
) -> None:
    fake_graph.templates = [RESERVATION, PAYMENT]
    await sync_of(sending).sync()
    fake_graph.templates = [PAYMENT]
    await sync_of(sending).sync()
    assert [t.name for t in await sync_of(sending).catalogue.list()] == ["payment_due"]
    fake_graph.templates_fault = graph_error(190, 401, "Error validating access token")
    with pytest.raises(TemplateSyncFailed) as failed:
        await sync_of(sending).sync()
    assert "190" in str(failed.value)
    assert TOKEN not in str(failed.value)
    assert [t.name for t in await sync_of(sending).catalogue.list()] == ["payment_due"]
    with caplog.at_level(logging.INFO):
        sync_of(sending).request_sync()
        await _background(sync_of(sending))
    assert "template sync failed" in caplog.text
    assert TOKEN not in caplog.text


async def _background(sync: TemplateSync) -> None:
    task = sync._background  # the task request_sync started
    assert task is not None
    await task


def status_webhook(name: str, language: str, event: str, time: int = 1_800_000_000) -> dict[str, Any]:
    """A ``message_template_status_update`` webhook as in Meta's reference."""
    value = {
        "event": event,
        "message_template_id": 546151681022936,
        "message_template_name": name,
        "message_template_language": language,
        "reason": "NONE",
        "message_template_category": "UTILITY",
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA, "time": time, "changes": [{"value": value, "field": "message_template_status_update"}]}],
    }


async def test_status_webhooks_update_the_catalogue_and_an_unknown_template_triggers_a_sync(
    sending: WhatsAppSending, fake_graph: FakeGraph
) -> None:
    fake_graph.templates = [PAYMENT]
    sync = sync_of(sending)
    await sync.sync()
    assert await sync.handle_webhook(status_webhook("payment_due", "fr", "PAUSED")) == 1
    paused = await sync.catalogue.get("payment_due", "fr")
    assert paused is not None
    assert paused.status == "PAUSED"
    # An older webhook arriving late does not undo the newer status.
    assert await sync.handle_webhook(status_webhook("payment_due", "fr", "APPROVED", time=1_700_000_000)) == 0
    fake_graph.templates = [PAYMENT, RESERVATION]
    reads = len(fake_graph.reads)
    assert await sync.handle_webhook(status_webhook("reservation_confirmation", "en_US", "APPROVED")) == 0
    await _background(sync)
    assert len(fake_graph.reads) == reads + 1
    assert await sync.catalogue.get("reservation_confirmation", "en_US") is not None


def payment(*values: str, code: str | None = "SAVE20") -> TemplateMessageBuilder:
    body = BodyComponentBuilder()
    for value in values:
        body.parameter(value)
    builder = TemplateMessageBuilder("payment_due", "fr").body(body)
    if code is not None:
        builder.button(ButtonComponentBuilder.copy_code(code))
    return builder


async def test_a_send_matching_the_approved_template_reaches_graph(
    sending: WhatsAppSending, fake_graph: FakeGraph
) -> None:
    fake_graph.templates = [PAYMENT]
    await sync_of(sending).sync()
    template = (
        TemplateMessageBuilder("payment_due", "fr")
        .body(BodyComponentBuilder().parameter("Ana").currency("12,50 €", "EUR", 12500).date_time("5 décembre"))
        .button(ButtonComponentBuilder.copy_code("SAVE20"))
        .build()
    )
    await sending.bus.dispatch(SendTemplateMessage(to="33612345678", template=template))
    [request] = fake_graph.requests
    body = request.body["template"]["components"][0]["parameters"]
    assert body[1] == {
        "type": "currency",
        "currency": {"fallback_value": "12,50 €", "code": "EUR", "amount_1000": 12500},
    }
    assert body[2] == {"type": "date_time", "date_time": {"fallback_value": "5 décembre"}}


@pytest.mark.parametrize(
    ("template", "fields"),
    [
        (payment("Ana", "12 €").build(), ["body.parameters"]),
        (payment("Ana", "12 €", "lundi", code=None).build(), ["buttons[0]"]),
        (
            payment("Ana", "12 €", "lundi").header(HeaderComponentBuilder().image(media_id="42")).build(),
            ["header"],
        ),
        (
            TemplateMessageBuilder("payment_due", "fr")
            .body(BodyComponentBuilder().parameters("Ana", "12 €", "lundi"))
            .button(ButtonComponentBuilder.quick_reply("x"))
            .build(),
            ["buttons[0]"],
        ),
        (payment("A" * 1000, "12 €", "lundi").build(), ["body.text"]),  # too long once rendered in the real text
    ],
)
async def test_a_send_that_does_not_match_is_refused_before_graph(
    sending: WhatsAppSending, fake_graph: FakeGraph, template: Any, fields: list[str]
) -> None:
    fake_graph.templates = [PAYMENT]
    await sync_of(sending).sync()
    with pytest.raises(TemplateValidationError) as refused:
        await sending.bus.dispatch(SendTemplateMessage(to="33612345678", template=template))
    assert [issue.field for issue in refused.value.issues] == fields
    assert fake_graph.requests == []
    assert len(sending.delivery.outbox) == 0  # type: ignore[arg-type]  # the memory outbox has a length


async def test_unknown_or_unapproved_templates_are_refused_with_the_catalogue_named(
    sending: WhatsAppSending, fake_graph: FakeGraph
) -> None:
    fake_graph.templates = [PAYMENT, {**RESERVATION, "status": "PAUSED"}]
    await sync_of(sending).sync()
    unknown = TemplateMessageBuilder("payment_due", "en_US").body(BodyComponentBuilder().parameter("x")).build()
    with pytest.raises(TemplateNotApproved) as missing:
        await sending.bus.dispatch(SendTemplateMessage(to="33612345678", template=unknown))
    assert "'payment_due' (en_US) is not in the approved-template catalogue" in str(missing.value)
    assert "payment_due (fr)" in str(missing.value)
    paused = TemplateMessageBuilder("reservation_confirmation", "en_US").build()
    with pytest.raises(TemplateNotApproved) as not_approved:
        await sending.bus.dispatch(BulkSendTemplate(recipients=("33612345678",), template=paused))
    assert "is PAUSED" in str(not_approved.value)
    assert fake_graph.requests == []


async def test_events_that_are_not_a_status(sending: WhatsAppSending, fake_graph: FakeGraph) -> None:
    fake_graph.templates = [PAYMENT]
    sync = sync_of(sending)
    await sync.sync()
    reads = len(fake_graph.reads)
    # FLAGGED: quality warning, still approved; LOCKED: cannot be edited, still sendable.
    assert await sync.handle_webhook(status_webhook("payment_due", "fr", "FLAGGED")) == 0
    assert await sync.handle_webhook(status_webhook("payment_due", "fr", "LOCKED")) == 0
    assert len(fake_graph.reads) == reads
    flagged = await sync.catalogue.get("payment_due", "fr")
    assert flagged is not None
    assert flagged.status == "APPROVED"
    assert await sync.handle_webhook(status_webhook("payment_due", "fr", "PAUSED", time=1_800_000_001)) == 1
    assert await sync.handle_webhook(status_webhook("payment_due", "fr", "REINSTATED", time=1_800_000_002)) == 1
    reinstated = await sync.catalogue.get("payment_due", "fr")
    assert reinstated is not None
    assert reinstated.status == "APPROVED"
    # UNARCHIVED returns to whatever the status was: Graph is asked.
    assert await sync.handle_webhook(status_webhook("payment_due", "fr", "UNARCHIVED")) == 0
    await _background(sync)
    assert len(fake_graph.reads) == reads + 1
