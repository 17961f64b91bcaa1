"""The Cloud API adapter over real HTTP: the request it makes, and how every answer is classified."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from dispatcher_adapters.whatsapp.cloud_api import CloudApiSender
from dispatcher_adapters.whatsapp.settings import WhatsAppSettings
from dispatcher_core.messaging import (
    ErrorClass,
    OutboundMessage,
    SendFailed,
    SendOutcomeUnknown,
    TemplateMessageBuilder,
    TextContent,
    WindowClosed,
)
from dispatcher_core.messaging.builders import BodyComponentBuilder, ButtonComponentBuilder, HeaderComponentBuilder

from .conftest import PHONE_NUMBER_ID, TOKEN
from .fake_graph import FakeGraph, Fault, graph_error, hang, server_error

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
RETRYABLE = [1, 2, 4, 17, 613, 80007, 130429, 131000, 131016, 131057, 133004]
NEVER_AS_IS = [100, 131026, 131047, 131050, 131051, 132000, 132001, 133010, 190]


def text_message(reference: str = "ref-1", body: str = "Bonjour !") -> OutboundMessage:
    return OutboundMessage.queue(
        id=reference, business_number_id=PHONE_NUMBER_ID, to="33612345678", content=TextContent(body), now=T0
    )


@pytest.fixture
async def sender(settings: WhatsAppSettings) -> AsyncIterator[CloudApiSender]:
    async with CloudApiSender.from_settings(settings) as api:
        yield api


async def test_a_text_send_is_a_correct_cloud_api_request(sender: CloudApiSender, fake_graph: FakeGraph) -> None:
    receipt = await sender.send(text_message())
    assert receipt.wamid == "wamid.fake.1"
    (request,) = fake_graph.requests
    assert request.path == f"/v27.0/{PHONE_NUMBER_ID}/messages"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["content-type"] == "application/json"
    assert request.body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "33612345678",
        "biz_opaque_callback_data": "ref-1",
        "type": "text",
        "text": {"body": "Bonjour !", "preview_url": False},
    }


async def test_a_template_send_carries_only_name_language_and_parameters(
    sender: CloudApiSender, fake_graph: FakeGraph
) -> None:
    template = (
        TemplateMessageBuilder("order_update", "fr")
        .header(HeaderComponentBuilder().text("Commande {{1}}").parameter("A-42"))
        .body(BodyComponentBuilder().text("Bonjour {{1}}").parameter("Ana"))
        .footer("Répondez STOP")
        .button(ButtonComponentBuilder.url(suffix="A-42").label("Suivre"))
        .button(ButtonComponentBuilder.phone_number().label("Appeler"))
        .button(ButtonComponentBuilder.quick_reply(payload="stop").label("Stop"))
        .build()
    )
    message = OutboundMessage.queue(
        id="ref-t", business_number_id=PHONE_NUMBER_ID, to="33612345678", content=template, now=T0
    )
    await sender.send(message)
    body = fake_graph.requests[0].body
    assert body["type"] == "template"
    assert body["template"] == {
        "name": "order_update",
        "language": {"code": "fr"},
        "components": [
            {"type": "header", "parameters": [{"type": "text", "text": "A-42"}]},
            {"type": "body", "parameters": [{"type": "text", "text": "Ana"}]},
            {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "A-42"}]},
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": "2",
                "parameters": [{"type": "payload", "payload": "stop"}],
            },
        ],
    }


async def test_currency_date_time_and_named_values_reach_graph_in_meta_s_shape(
    sender: CloudApiSender, fake_graph: FakeGraph
) -> None:
    template = (
        TemplateMessageBuilder("payment_due", "en_US")
        .header(HeaderComponentBuilder().location(48.8584, 2.2945, name="Shop", address="1 Rue X, Paris"))
        .body(
            BodyComponentBuilder()
            .text("{{first_name}}, {{total}} is due on {{due}}.")
            .named("first_name", "Ana")
            .currency("€12.50", "EUR", 12500, name="total")
            .date_time("5 December 2026", name="due")
        )
        .button(ButtonComponentBuilder.copy_code("SAVE20"))
        .button(ButtonComponentBuilder.flow("flow-1"))
        .build()
    )
    message = OutboundMessage.queue(
        id="ref-c", business_number_id=PHONE_NUMBER_ID, to="33612345678", content=template, now=T0
    )
    await sender.send(message)
    assert fake_graph.requests[0].body["template"]["components"] == [
        {
            "type": "header",
            "parameters": [
                {
                    "type": "location",
                    "location": {
                        "latitude": "48.8584",
                        "longitude": "2.2945",
                        "name": "Shop",
                        "address": "1 Rue X, Paris",
                    },
                }
            ],
        },
        {
            "type": "body",
            "parameters": [
                {"type": "text", "text": "Ana", "parameter_name": "first_name"},
                {
                    "type": "currency",
                    "currency": {"fallback_value": "€12.50", "code": "EUR", "amount_1000": 12500},
                    "parameter_name": "total",
                },
                {"type": "date_time", "date_time": {"fallback_value": "5 December 2026"}, "parameter_name": "due"},
            ],
        },
        {
            "type": "button",
            "sub_type": "copy_code",
            "index": "0",
            "parameters": [{"type": "coupon_code", "coupon_code": "SAVE20"}],
        },
        {
            "type": "button",
            "sub_type": "flow",
            "index": "1",
            "parameters": [{"type": "action", "action": {"flow_token": "flow-1"}}],
        },
    ]


async def test_positional_currency_and_date_time_carry_no_parameter_name(
    sender: CloudApiSender, fake_graph: FakeGraph
) -> None:
    template = (
        TemplateMessageBuilder("invoice_total")
        .body(BodyComponentBuilder().text("{{1}} on {{2}}").currency("$5", "USD", 5000).date_time("Monday"))
        .build()
    )
    message = OutboundMessage.queue(
        id="ref-p", business_number_id=PHONE_NUMBER_ID, to="15550001", content=template, now=T0
    )
    await sender.send(message)
    assert fake_graph.requests[0].body["template"]["components"] == [
        {
            "type": "body",
            "parameters": [
                {"type": "currency", "currency": {"fallback_value": "$5", "code": "USD", "amount_1000": 5000}},
                {"type": "date_time", "date_time": {"fallback_value": "Monday"}},
            ],
        }
    ]


async def test_a_media_header_is_sent_by_link() -> None:
    from dispatcher_adapters.whatsapp.payloads import template_body

    template = (
        TemplateMessageBuilder("invoice")
        .header(HeaderComponentBuilder().document(link="https://x.test/i.pdf", filename="i.pdf"))
        .build()
    )
    assert template_body(template)["components"] == [
        {
            "type": "header",
            "parameters": [{"type": "document", "document": {"link": "https://x.test/i.pdf", "filename": "i.pdf"}}],
        }
    ]


@pytest.mark.parametrize("code", RETRYABLE)
async def test_retryable_graph_codes(code: int, sender: CloudApiSender, fake_graph: FakeGraph) -> None:
    fake_graph.then(graph_error(code))
    with pytest.raises(SendFailed) as caught:
        await sender.send(text_message())
    assert (caught.value.error.code, caught.value.error.http_status) == (code, 400)
    assert caught.value.error_class is ErrorClass.RETRYABLE


@pytest.mark.parametrize("code", NEVER_AS_IS)
async def test_codes_never_retried_as_is(code: int, sender: CloudApiSender, fake_graph: FakeGraph) -> None:
    fake_graph.then(graph_error(code))
    with pytest.raises(SendFailed) as caught:
        await sender.send(text_message())
    assert caught.value.error.code == code
    assert caught.value.error_class is ErrorClass.PERMANENT
    assert isinstance(caught.value, WindowClosed) == (code == 131047)


async def test_pair_rate_limit(sender: CloudApiSender, fake_graph: FakeGraph) -> None:
    fake_graph.then(graph_error(131056))
    with pytest.raises(SendFailed) as caught:
        await sender.send(text_message())
    assert caught.value.error_class is ErrorClass.RECIPIENT_BACKOFF


async def test_a_5xx_without_a_graph_body_is_retryable(sender: CloudApiSender, fake_graph: FakeGraph) -> None:
    fake_graph.then(server_error(502))
    with pytest.raises(SendFailed) as caught:
        await sender.send(text_message())
    assert (caught.value.error.code, caught.value.error.http_status) == (None, 502)
    assert caught.value.error_class is ErrorClass.RETRYABLE
    assert caught.value.error.label == "http_502"


async def test_a_slow_answer_past_the_timeout_is_an_unknown_outcome(
    sender: CloudApiSender, fake_graph: FakeGraph
) -> None:
    fake_graph.then(hang())
    with pytest.raises(SendOutcomeUnknown):
        await sender.send(text_message())
    assert len(fake_graph.requests) == 1  # it did reach the API: Meta may have the message


async def test_a_success_without_a_message_id_is_an_unknown_outcome(
    sender: CloudApiSender, fake_graph: FakeGraph
) -> None:
    fake_graph.then(Fault(200, {"messaging_product": "whatsapp"}))
    with pytest.raises(SendOutcomeUnknown, match="without a message id"):
        await sender.send(text_message())


async def test_a_refused_connection_is_not_sent_and_retryable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = WhatsAppSettings(
        access_token=TOKEN, phone_number_id=PHONE_NUMBER_ID, api_base_url=f"http://127.0.0.1:{port}"
    )
    async with CloudApiSender.from_settings(settings) as sender:
        with pytest.raises(SendFailed) as caught:
            await sender.send(text_message())
    assert caught.value.error_class is ErrorClass.RETRYABLE
    assert caught.value.error.label == "transport"
