"""Who plays in the demo, and what customers send: pure functions, no server."""

from __future__ import annotations

import json
import random

from dispatcher_app.demo.cast import BUSINESS_NUMBER_ID, CUSTOMER_FIRST_MESSAGES, agent_profiles, customers
from dispatcher_app.demo.customers import CustomerTraffic, webhook_body


def test_customers_write_in_visits_then_rest() -> None:
    rng = random.Random(3)
    crowd = customers(8, rng)
    simulated = CustomerTraffic(base_url="http://unused", app_secret="s", customers=crowd, rate=1.0, rng=rng)
    messages = [simulated.next_message(now=float(second)) for second in range(300)]
    ids = [message_id for _, message_id, _ in messages]
    assert len(set(ids)) == len(ids)
    visits: dict[str, list[list[str]]] = {}
    for customer, _, text in messages:
        if text in CUSTOMER_FIRST_MESSAGES:
            visits.setdefault(customer.customer_id, []).append([text])
        else:
            assert customer.customer_id in visits, "a follow-up comes after a first message"
            visits[customer.customer_id][-1].append(text)
    lengths = [len(visit) for per_customer in visits.values() for visit in per_customer]
    assert set(lengths) <= {1, 2, 3, 4}  # the last visit of a customer may still be under way
    assert max(lengths) > 1
    assert len(visits) == len(crowd)  # everybody comes, in turn


def test_webhook_body_is_shaped_like_meta_s() -> None:
    crowd = customers(1, random.Random(4))
    body = json.loads(webhook_body(crowd[0], "wamid.X", "hello", sent_at=1_700_000_000))
    value = body["entry"][0]["changes"][0]["value"]
    assert body["object"] == "whatsapp_business_account"
    assert value["metadata"]["phone_number_id"] == BUSINESS_NUMBER_ID
    assert value["messages"][0] == {
        "from": crowd[0].customer_id,
        "id": "wamid.X",
        "timestamp": "1700000000",
        "type": "text",
        "text": {"body": "hello"},
    }
    assert value["contacts"][0]["profile"]["name"] == crowd[0].name


def test_the_cast_is_stable_for_a_seed() -> None:
    assert agent_profiles(6, random.Random(9)) == agent_profiles(6, random.Random(9))
    profiles = agent_profiles(25, random.Random(9))
    assert len({p.agent_id for p in profiles}) == 25
    assert [p.first_connect_after for p in profiles] == sorted(p.first_connect_after for p in profiles)
    assert sum(p.ignore_probability > 0.1 for p in profiles) == 6  # one in four is slow
    assert len({c.customer_id for c in customers(200, random.Random(9))}) == 200
