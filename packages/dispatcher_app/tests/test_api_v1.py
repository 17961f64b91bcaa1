"""/api/v1: bearer authentication (admin token or API key with its scope), the reads, the API keys, the
error body, and the OpenAPI document and reference page."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest

from dispatcher_app.api import OPERATIONS
from dispatcher_app.testing import AppHarness, text_message_body
from dispatcher_core.testing import ManualClock

pytestmark = pytest.mark.asyncio(loop_scope="module")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def say(h: AppHarness, customer: str, message_id: str, text: str = "hi") -> None:
    body = text_message_body(business_number_id="B", customer_id=customer, message_id=message_id, text=text)
    assert (await h.post_webhook(body)).json()["accepted"] == 1


async def create_key(h: AppHarness, name: str, scope: str) -> dict[str, Any]:
    response = await h.admin("POST", "/api/v1/api-keys", json={"name": name, "scope": scope})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    return error


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.operation_id)
@pytest.mark.parametrize("authorization", [None, "Bearer", "Bearer wrong", "test-admin-token", "Basic abc"])
async def test_every_operation_refuses_a_missing_or_unknown_token(
    harness: AppHarness, operation: Any, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await harness.http.request(operation.method, concrete(operation.path), headers=headers, json={})
    assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"
    assert (await harness.admin("GET", "/api/v1/api-keys")).json() == {"data": []}  # nothing created on the way


async def test_an_api_key_is_shown_once_works_within_its_scope_and_stops_when_revoked(harness: AppHarness) -> None:
    created = await create_key(harness, "order backend", "read")
    secret = created.pop("key")
    assert secret.startswith("dsp_")
    assert created["hint"] == secret[:8]
    assert created["scope"] == "read"
    assert created["active"] is True
    assert created["revoked_at"] is None

    listed = (await harness.admin("GET", "/api/v1/api-keys")).json()["data"]
    assert listed == [created]  # the key itself is never shown again
    assert secret not in (await harness.admin("GET", f"/api/v1/api-keys/{created['id']}")).text

    assert (await harness.http.get("/api/v1/conversations", headers=bearer(secret))).status_code == 200
    error = assert_error(await harness.http.get("/api/v1/api-keys", headers=bearer(secret)), 403, "forbidden")
    assert secret not in error["message"]
    forbidden = await harness.http.post("/api/v1/api-keys", headers=bearer(secret), json={"name": "x", "scope": "read"})
    assert_error(forbidden, 403, "forbidden")

    revoked = (await harness.admin("POST", f"/api/v1/api-keys/{created['id']}/revoke")).json()
    assert revoked["active"] is False
    assert revoked["revoked_at"] is not None
    again = (await harness.admin("POST", f"/api/v1/api-keys/{created['id']}/revoke")).json()
    assert again == revoked  # the first revocation time stays
    assert_error(await harness.http.get("/api/v1/conversations", headers=bearer(secret)), 401, "unauthorized")
    assert len((await harness.admin("GET", "/api/v1/api-keys")).json()["data"]) == 1


async def test_an_admin_key_manages_keys(harness: AppHarness, clock: ManualClock) -> None:
    admin = (await create_key(harness, "ops", "admin"))["key"]
    clock.advance(timedelta(seconds=1))
    response = await harness.http.post("/api/v1/api-keys", headers=bearer(admin), json={"name": "ci", "scope": "send"})
    assert response.status_code == 201
    names = [key["name"] for key in (await harness.http.get("/api/v1/api-keys", headers=bearer(admin))).json()["data"]]
    assert names == ["ops", "ci"]


@pytest.mark.parametrize(
    "body",
    [
        {"name": "", "scope": "read"},
        {"name": "x", "scope": "root"},
        {"name": "x"},
        {"name": "x", "scope": "read", "extra": 1},
        {"name": "tab\there", "scope": "read"},
        ["not", "an", "object"],
    ],
)
async def test_a_bad_api_key_request_is_refused_and_creates_nothing(harness: AppHarness, body: Any) -> None:
    assert_error(await harness.admin("POST", "/api/v1/api-keys", json=body), 400, "invalid_request")
    assert_error(await harness.admin("POST", "/api/v1/api-keys", content=b"{nope"), 400, "invalid_json")
    assert (await harness.admin("GET", "/api/v1/api-keys")).json() == {"data": []}


async def test_unknown_keys_and_conversations_are_404(harness: AppHarness) -> None:
    assert_error(await harness.admin("GET", "/api/v1/api-keys/key_nope"), 404, "not_found")
    assert_error(await harness.admin("POST", "/api/v1/api-keys/key_nope/revoke"), 404, "not_found")
    assert_error(await harness.admin("GET", "/api/v1/conversations/nope"), 404, "not_found")
    assert_error(await harness.admin("GET", "/api/v1/nothing-here"), 404, "not_found")
    assert_error(await harness.admin("DELETE", "/api/v1/conversations"), 405, "method_not_allowed")


async def test_conversations_are_listed_filtered_paginated_and_read_whole(harness: AppHarness) -> None:
    for customer in ("c1", "c2", "c3"):
        await say(harness, customer, f"w-{customer}", text=f"bonjour {customer} ✓")
    first = (await harness.admin("GET", "/api/v1/conversations", params={"limit": 2})).json()
    assert len(first["data"]) == 2
    assert first["pagination"] == {"limit": 2, "offset": 0, "next_offset": 2}
    rest = (await harness.admin("GET", "/api/v1/conversations", params={"limit": 2, "offset": 2})).json()
    assert rest["pagination"]["next_offset"] is None
    assert {c["customer_id"] for c in first["data"] + rest["data"]} == {"c1", "c2", "c3"}

    pending = (await harness.admin("GET", "/api/v1/conversations", params={"status": "pending"})).json()["data"]
    assert sorted(c["customer_id"] for c in pending) == ["c1", "c2", "c3"]
    closed = (await harness.admin("GET", "/api/v1/conversations", params={"status": "closed"})).json()["data"]
    assert closed == []
    by_agent = await harness.admin("GET", "/api/v1/conversations", params={"agent_id": "alice"})
    assert by_agent.json()["data"] == []

    detail = (await harness.admin("GET", f"/api/v1/conversations/{pending[0]['id']}")).json()
    assert detail["customer_id"] == pending[0]["customer_id"]
    assert [m["text"] for m in detail["messages"]] == [f"bonjour {detail['customer_id']} ✓"]
    assert detail["messages"][0]["direction"] == "in"
    assert [p["message_id"] for p in detail["pending"]] == [detail["messages"][0]["id"]]


@pytest.mark.parametrize(
    "params",
    [
        {"status": "sleeping"},
        {"limit": "0"},
        {"limit": "many"},
        {"offset": "-1"},
        {"status": "pending", "agent_id": "alice"},
        {"colour": "blue"},
    ],
)
async def test_a_bad_conversation_filter_is_a_400(harness: AppHarness, params: dict[str, str]) -> None:
    error = assert_error(await harness.admin("GET", "/api/v1/conversations", params=params), 400, "invalid_request")
    assert error["message"]


async def test_agents_templates_and_statistics(harness: AppHarness) -> None:
    async with harness.agent("alice"):
        agents = (await harness.admin("GET", "/api/v1/agents")).json()
        assert [(a["agent_id"], a["status"], a["connections"]) for a in agents["data"]] == [("alice", "online", 1)]
        assert agents["capacity"] is None
    assert (await harness.admin("GET", "/api/v1/templates")).json() == {"configured": False, "data": []}
    stats = (await harness.admin("GET", "/api/v1/statistics")).json()
    assert "conversations" in stats
    window = {"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"}
    assert_error(await harness.admin("GET", "/api/v1/statistics", params=window), 400, "invalid_request")
    naive = {"from": "2026-01-01T00:00:00"}
    assert_error(await harness.admin("GET", "/api/v1/statistics", params=naive), 400, "invalid_request")


async def test_the_openapi_document_describes_every_operation(harness: AppHarness) -> None:
    document = (await harness.http.get("/openapi.json")).json()
    assert document["openapi"] == "3.1.0"
    declared = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    assert declared == {(op.method, op.path) for op in OPERATIONS}
    create = document["paths"]["/api/v1/api-keys"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ApiKeyCreate"
    }
    assert document["components"]["schemas"]["ApiKeyCreate"]["properties"]["scope"]["enum"] == [
        "read",
        "send",
        "admin",
    ]
    listing = document["paths"]["/api/v1/conversations"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {"status", "agent_id", "limit", "offset"}


async def test_the_reference_page_needs_nothing_from_elsewhere(harness: AppHarness) -> None:
    page = await harness.http.get("/api/docs")
    assert page.status_code == 200
    assert "/openapi.json" in page.text
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", page.text, re.IGNORECASE)
    assert "default-src 'none'" in page.headers["content-security-policy"]
