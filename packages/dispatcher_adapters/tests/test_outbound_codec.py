"""Outbound messages and the events that carry them survive the stores' JSON whatever their template values."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from dispatcher_adapters.event_wire import dump_event, load_event
from dispatcher_adapters.outbound_codec import dump_outbound, load_outbound
from dispatcher_core.events import OutboundStatusChanged
from dispatcher_core.messaging.builders import BodyComponentBuilder, TemplateMessageBuilder
from dispatcher_core.messaging.outbound import OutboundMessage
from dispatcher_core.messaging.parameters import TextParameter

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def template_with_every_value() -> OutboundMessage:
    body = BodyComponentBuilder().parameter("Ana").currency("€12.50", "EUR", 12500).date_time("5 Dec 2026")
    template = TemplateMessageBuilder("invoice_due", "en").body(body.parameter(TextParameter("A-17"))).build()
    return OutboundMessage.queue(id="m1", business_number_id="bn1", to="15551230000", content=template, now=NOW)


def test_a_template_with_currency_date_time_and_named_values_round_trips() -> None:
    message = template_with_every_value()
    stored = dump_outbound(message)
    assert load_outbound(stored, message.version) == message
    parameters = json.loads(stored)["content"]["body"]["parameters"]
    assert parameters[0] == "Ana"
    assert parameters[1]["code"] == "EUR"
    assert parameters[2] == {"fallback_value": "5 Dec 2026", "name": None}


def test_a_status_event_round_trips_through_the_event_wire() -> None:
    event = OutboundStatusChanged(
        conversation_id="c1",
        agent_id="alice",
        message_id="m1",
        status="sent",
        previous="sending",
        at=NOW,
        client_id="k1",
        wamid="wamid.1",
        error_code=None,
        error_title=None,
    )
    assert load_event(dump_event(event)) == event
