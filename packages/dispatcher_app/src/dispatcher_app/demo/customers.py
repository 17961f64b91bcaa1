"""Simulated customers: signed WhatsApp webhooks posted to the demo app, as Meta would post them.

Why real HTTP: the demo exercises the product end to end - signature check, parsing, storage, assignment -
exactly like production traffic, so what the dashboard shows is what a real deployment would do. Messages
arrive as a Poisson process of ``rate`` per second from a pool of customers; a customer's later messages go
to the conversation they already have (or open a new one once it was closed).

Customers write in *visits*: one to four messages, then they go quiet for a while, so conversations end
(closed by the agent, or by the inactivity timeout) and the team's load rises and falls instead of growing
until every customer has a conversation open.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from dispatcher_app.demo.cast import BUSINESS_NUMBER_ID, CUSTOMER_FIRST_MESSAGES, CUSTOMER_FOLLOW_UPS, Customer
from dispatcher_app.webhooks.signature import SIGNATURE_HEADER, sign

__all__ = ["CustomerTraffic", "TrafficCounts", "webhook_body"]

_log = logging.getLogger(__name__)

#: Messages per visit (inclusive range), and how long a customer stays quiet after a visit (seconds).
_VISIT_MESSAGES = (1, 4)
_REST_SECONDS = (30.0, 120.0)
#: Share of messages that continue a visit: 1 - 1 / (mean messages per visit).
_FOLLOW_UP_SHARE = 0.6


def webhook_body(customer: Customer, message_id: str, text: str, *, sent_at: int) -> bytes:
    """One text message in the envelope Meta sends (``object`` / ``entry`` / ``changes`` / ``value``)."""
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "33100000000", "phone_number_id": BUSINESS_NUMBER_ID},
        "contacts": [{"profile": {"name": customer.name}, "wa_id": customer.customer_id}],
        "messages": [
            {
                "from": customer.customer_id,
                "id": message_id,
                "timestamp": str(sent_at),
                "type": "text",
                "text": {"body": text},
            }
        ],
    }
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "demo-waba", "changes": [{"value": value, "field": "messages"}]}],
    }
    return json.dumps(body, ensure_ascii=False).encode()


@dataclass(slots=True)
class TrafficCounts:
    """Webhooks answered (``sent``), messages the app stored (``accepted``), webhooks refused or failed."""

    sent: int = 0
    accepted: int = 0
    refused: int = 0


class CustomerTraffic:
    """Posts customer messages until cancelled. Failures (the server stopping) are counted, never raised."""

    def __init__(
        self,
        *,
        base_url: str,
        app_secret: str,
        customers: list[Customer],
        rate: float,
        rng: random.Random,
    ) -> None:
        self._base_url = base_url
        self._secret = app_secret
        self._customers = customers
        self._rate = rate
        self._rng = rng
        self._remaining: dict[str, int] = {}
        self._resting_until: dict[str, float] = {}
        self._run_id = uuid.uuid4().hex[:8]
        self._ids = itertools.count(1)
        self.counts = TrafficCounts()

    def next_message(self, now: float) -> tuple[Customer, str, str]:
        """The next (customer, WhatsApp message id, text) at monotonic time ``now``: a follow-up of a visit
        under way, or the first message of a new visit by a customer who is not resting."""
        visiting = [c for c in self._customers if self._remaining.get(c.customer_id, 0) > 0]
        idle = [
            c
            for c in self._customers
            if self._remaining.get(c.customer_id, 0) == 0 and self._resting_until.get(c.customer_id, 0.0) <= now
        ]
        if visiting and (not idle or self._rng.random() < _FOLLOW_UP_SHARE):
            customer, phrases = self._rng.choice(visiting), CUSTOMER_FOLLOW_UPS
        else:
            customer = self._rng.choice(idle or self._customers)
            phrases = CUSTOMER_FIRST_MESSAGES
            self._remaining[customer.customer_id] = self._rng.randint(*_VISIT_MESSAGES)
        left = self._remaining[customer.customer_id] = max(0, self._remaining.get(customer.customer_id, 1) - 1)
        if left == 0:
            self._resting_until[customer.customer_id] = now + self._rng.uniform(*_REST_SECONDS)
        message_id = f"wamid.demo.{self._run_id}.{next(self._ids)}"
        return customer, message_id, self._rng.choice(phrases)

    async def run(self) -> None:
        async with httpx.AsyncClient(base_url=self._base_url, timeout=10.0) as http:
            while True:
                await asyncio.sleep(self._rng.expovariate(self._rate))
                await self.post_one(http)

    async def post_one(self, http: httpx.AsyncClient) -> None:
        customer, message_id, text = self.next_message(time.monotonic())
        body = webhook_body(customer, message_id, text, sent_at=int(time.time()))
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, self._secret)}
        try:
            response = await http.post("/webhooks/whatsapp", content=body, headers=headers)
        except httpx.HTTPError as exc:
            self.counts.sent += 1
            self.counts.refused += 1
            _log.debug("webhook post failed: %s", exc)
            return
        self.counts.sent += 1  # counted once answered: a post cut short by the demo's stop is not
        if response.status_code == 200:
            self.counts.accepted += response.json().get("accepted", 0)
        else:
            self.counts.refused += 1
            _log.warning("webhook answered %s: %s", response.status_code, response.text[:200])
