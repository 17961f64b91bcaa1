"""Overload by design: past DISPATCHER_MAX_IN_FLIGHT_WEBHOOKS requests in hand, a webhook is refused at once
with 503 + Retry-After and nothing stored; the slot comes back when a request ends, whatever its outcome."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from dispatcher_app.testing import AppHarness, eventually, signed_webhook_headers, text_message_body

from .conftest import MakeHarness

pytestmark = pytest.mark.asyncio(loop_scope="module")

NUMBER = "106540352242922"


def body(message_id: str, customer: str) -> bytes:
    return text_message_body(business_number_id=NUMBER, customer_id=customer, message_id=message_id, text="hi")


def shed_count(h: AppHarness) -> float:
    value = h.runtime.metrics.registry.get_sample_value("dispatcher_webhooks_shed_total")
    return value or 0.0


async def pending_ids(h: AppHarness) -> set[str]:
    pending = (await h.admin("GET", "/admin/pending")).json()
    ids = set()
    for conversation in pending["conversations"]:
        detail = (await h.admin("GET", f"/admin/conversations/{conversation['id']}")).json()
        ids |= {m["external_id"] for m in detail["messages"]}
    return ids


async def test_a_request_past_the_limit_is_shed_at_once_and_stores_nothing(make_harness: MakeHarness) -> None:
    async with make_harness(max_in_flight_webhooks=2) as h:
        release = asyncio.Event()
        started = 0

        def slow(payload: bytes) -> AsyncIterator[bytes]:
            async def chunks() -> AsyncIterator[bytes]:
                nonlocal started
                yield payload[:10]
                started += 1
                await release.wait()  # the request stays in the server's hands until released
                yield payload[10:]

            return chunks()

        held = [body(f"wamid.held{i}", f"3360000000{i}") for i in range(2)]
        slow_posts = [
            asyncio.create_task(
                h.http.post("/webhooks/whatsapp", content=slow(payload), headers=signed_webhook_headers(payload))
            )
            for payload in held
        ]

        async def both_in_hand() -> bool:
            gauge = h.runtime.metrics.registry.get_sample_value("dispatcher_webhooks_in_flight")
            return started == 2 and gauge == 2

        await eventually(both_in_hand)
        refused = await h.post_webhook(body("wamid.shed", "33611111111"))
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert "overloaded" in refused.json()["error"]
        assert shed_count(h) == 1

        release.set()
        answers = await asyncio.gather(*slow_posts)
        assert [a.status_code for a in answers] == [200, 200]
        assert [a.json()["accepted"] for a in answers] == [1, 1]
        # the slots are given back: Meta's resend of the shed body is taken, and only then is it stored
        assert "wamid.shed" not in await pending_ids(h)
        again = await h.post_webhook(body("wamid.shed", "33611111111"))
        assert again.status_code == 200
        assert again.json()["accepted"] == 1
        assert await pending_ids(h) == {"wamid.held0", "wamid.held1", "wamid.shed"}
        assert shed_count(h) == 1
        assert h.runtime.metrics.registry.get_sample_value("dispatcher_webhooks_in_flight") == 0


async def test_refused_requests_give_their_slot_back(make_harness: MakeHarness) -> None:
    """Errors (bad signature, not JSON) end the request like a success does: the limit is not eaten away."""
    async with make_harness(max_in_flight_webhooks=1) as h:
        for _ in range(3):
            assert (await h.post_webhook(b"{}", secret="wrong")).status_code == 401
            assert (await h.post_webhook(b"not json")).status_code == 400
        assert (await h.post_webhook(body("wamid.ok", "33622222222"))).status_code == 200
        assert shed_count(h) == 0


async def test_zero_means_no_limit(make_harness: MakeHarness) -> None:
    async with make_harness(max_in_flight_webhooks=0) as h:
        answers = await asyncio.gather(*(h.post_webhook(body(f"wamid.n{i}", f"3363333333{i}")) for i in range(8)))
        assert {a.status_code for a in answers} == {200}
        assert shed_count(h) == 0
