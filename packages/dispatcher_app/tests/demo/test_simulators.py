"""The demo's simulated agents and customers against a real app: what they send is what the protocol
expects, and they behave as their profile says."""

from __future__ import annotations

import asyncio
import random
from dataclasses import replace

import httpx
import pytest

from dispatcher_app import mint_agent_token
from dispatcher_app.demo.agents import SimulatedAgent
from dispatcher_app.demo.cast import BUSINESS_NUMBER_ID, AgentProfile, customers
from dispatcher_app.demo.customers import CustomerTraffic
from dispatcher_app.testing import AppHarness, eventually

pytestmark = pytest.mark.asyncio(loop_scope="module")

DILIGENT = AgentProfile(
    agent_id="ada",
    reply_delay=(0.0, 0.0),
    ignore_probability=0.0,
    close_probability=1.0,
    online_for=(60.0, 60.0),
    offline_for=(60.0, 60.0),
    first_connect_after=0.0,
)


def agent_url(h: AppHarness, agent_id: str) -> str:
    return h.agent_url(mint_agent_token(h.config.agent_token_secret, agent_id))


def traffic(h: AppHarness, count: int = 3, seed: int = 1) -> CustomerTraffic:
    rng = random.Random(seed)
    return CustomerTraffic(
        base_url=h.server.http_url,
        app_secret=h.config.whatsapp_app_secret,
        customers=customers(count, rng),
        rate=1.0,
        rng=rng,
    )


async def test_customer_webhooks_are_signed_and_accepted(harness: AppHarness) -> None:
    customers_traffic = traffic(harness)
    async with httpx.AsyncClient(base_url=harness.server.http_url) as http:
        for _ in range(4):
            await customers_traffic.post_one(http)
    assert (customers_traffic.counts.sent, customers_traffic.counts.accepted) == (4, 4)
    pending = (await harness.admin("GET", "/admin/pending")).json()
    assert pending["pending_messages"] == 4
    names = {conversation["customer_name"] for conversation in pending["conversations"]}
    assert all(name and name.endswith(".") for name in names)
    assert {c["business_number_id"] for c in pending["conversations"]} == {BUSINESS_NUMBER_ID}


async def test_a_refused_webhook_is_counted_not_raised(harness: AppHarness) -> None:
    rng = random.Random(2)
    wrong = CustomerTraffic(
        base_url=harness.server.http_url, app_secret="not-the-secret", customers=customers(2, rng), rate=1.0, rng=rng
    )
    async with httpx.AsyncClient(base_url=harness.server.http_url) as http:
        await wrong.post_one(http)
    async with httpx.AsyncClient(base_url="http://127.0.0.1:9") as nowhere:  # discard port: nothing listens
        await wrong.post_one(nowhere)
    assert (wrong.counts.sent, wrong.counts.accepted, wrong.counts.refused) == (2, 0, 2)


async def test_an_agent_answers_and_closes_what_it_is_given(harness: AppHarness) -> None:
    agent = SimulatedAgent(DILIGENT, url=agent_url(harness, "ada"), rng=random.Random(5))
    session = asyncio.create_task(agent.session(online_for=30))
    try:
        await eventually(lambda: _queued(harness, ["ada"]))
        async with httpx.AsyncClient(base_url=harness.server.http_url) as http:
            await traffic(harness).post_one(http)

        async def closed() -> bool:
            found = (await harness.admin("GET", "/admin/conversations?status=closed")).json()["conversations"]
            return len(found) == 1

        await eventually(closed)
    finally:
        session.cancel()
        await asyncio.gather(session, return_exceptions=True)
    conversation = (await harness.admin("GET", "/admin/conversations?status=closed")).json()["conversations"][0]
    assert conversation["close_reason"] == "agent"
    assert (agent.counts.assigned, agent.counts.replies, agent.counts.closes, agent.counts.errors) == (1, 1, 1, 0)
    replies = (await harness.admin("GET", "/admin/stats")).json()["replies"]
    assert replies["recorded"] == 1


async def test_an_agent_answers_what_it_holds_when_it_comes_back(harness: AppHarness) -> None:
    """A conversation kept during the grace period is answered after reconnecting (from ``hello``)."""
    patient = replace(DILIGENT, agent_id="bea", close_probability=0.0, ignore_probability=1.0)
    agent = SimulatedAgent(patient, url=agent_url(harness, "bea"), rng=random.Random(6))
    first = asyncio.create_task(agent.session(online_for=30))
    await eventually(lambda: _queued(harness, ["bea"]))
    async with httpx.AsyncClient(base_url=harness.server.http_url) as http:
        await traffic(harness).post_one(http)

    async def assigned() -> bool:
        return agent.counts.assigned == 1

    await eventually(assigned)
    first.cancel()
    await asyncio.gather(first, return_exceptions=True)
    assert agent.counts.replies == 0  # it ignored the message

    diligent_again = SimulatedAgent(
        replace(patient, ignore_probability=0.0), url=agent_url(harness, "bea"), rng=random.Random(7)
    )
    await asyncio.wait_for(diligent_again.session(online_for=1.5), 30)
    assert diligent_again.counts.replies == 1
    assert agent.online is diligent_again.online is False


async def test_an_agent_goes_offline_after_its_session(harness: AppHarness) -> None:
    agent = SimulatedAgent(replace(DILIGENT, agent_id="cy"), url=agent_url(harness, "cy"), rng=random.Random(8))
    await asyncio.wait_for(agent.session(online_for=0.5), 30)
    assert agent.counts.sessions == 1
    await eventually(lambda: _queued(harness, []))


async def test_an_agent_retries_while_the_server_is_away() -> None:
    agent = SimulatedAgent(DILIGENT, url="ws://127.0.0.1:9/ws/agent?token=x", rng=random.Random(9))
    running = asyncio.create_task(agent.run())
    await asyncio.sleep(0.3)  # it fails to connect at least once meanwhile; not a timing assertion
    assert not running.done()
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    assert agent.counts.sessions == 0


async def _queued(h: AppHarness, expected: list[str]) -> bool:
    return await h.queued_agents() == expected
