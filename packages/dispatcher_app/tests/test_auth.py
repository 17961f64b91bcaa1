"""Agent JWTs, the admin bearer token and the webhook signature."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from dispatcher_app.auth import AgentTokenError, bearer_token_matches, mint_agent_token, verify_agent_token
from dispatcher_app.webhooks.signature import sign, signature_matches
from dispatcher_core.errors import InvalidInput

SECRET = "k" * 64


def test_round_trip_and_a_token_other_backends_can_mint() -> None:
    token = mint_agent_token(SECRET, "agent-7")
    assert verify_agent_token(SECRET, token) == "agent-7"
    foreign = jwt.encode({"sub": "agent-8", "role": "sales"}, SECRET, algorithm="HS256")
    assert verify_agent_token(SECRET, foreign) == "agent-8"


@pytest.mark.parametrize(
    "token",
    [
        None,
        "",
        "not-a-jwt",
        jwt.encode({"sub": "a"}, "x" * 64, algorithm="HS256"),  # another secret
        jwt.encode({"name": "a"}, SECRET, algorithm="HS256"),  # no sub
        jwt.encode({"sub": 7}, SECRET, algorithm="HS256"),
        jwt.encode({"sub": "~instance:x"}, SECRET, algorithm="HS256"),  # reserved ids
        jwt.encode({"sub": "a", "exp": 1}, SECRET, algorithm="HS256"),  # expired
        jwt.encode({"sub": "a"}, SECRET, algorithm="HS512"),  # only HS256 is accepted
    ],
)
def test_bad_tokens_are_refused(token: str | None) -> None:
    with pytest.raises(AgentTokenError):
        verify_agent_token(SECRET, token)


def test_expiry_is_enforced_when_given() -> None:
    past = datetime.now(UTC) - timedelta(hours=2)
    with pytest.raises(AgentTokenError, match="expired"):
        verify_agent_token(SECRET, mint_agent_token(SECRET, "a", now=past, ttl=timedelta(hours=1)))
    fresh = mint_agent_token(SECRET, "a", now=datetime.now(UTC), ttl=timedelta(hours=1))
    assert verify_agent_token(SECRET, fresh) == "a"


@pytest.mark.parametrize("agent_id", ["", "~x", "a" * 201, "tab\there"])
def test_minting_refuses_bad_agent_ids(agent_id: str) -> None:
    with pytest.raises(InvalidInput):
        mint_agent_token(SECRET, agent_id)


def test_minting_refuses_a_short_secret() -> None:
    with pytest.raises(InvalidInput, match="32 bytes"):
        mint_agent_token("short", "a")


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        ("Bearer admin-token", True),
        ("bearer admin-token", True),
        ("Bearer admin-token2", False),
        ("Bearer ", False),
        ("Basic admin-token", False),
        ("admin-token", False),
        (None, False),
    ],
)
def test_bearer_token(header: str | None, ok: bool) -> None:
    assert bearer_token_matches(header, "admin-token") is ok


def test_signature_over_raw_bytes() -> None:
    body = b'{"a": 1}'
    header = sign(body, "app-secret")
    assert header.startswith("sha256=")
    assert len(header) == 7 + 64
    assert signature_matches(body, header, "app-secret")
    assert signature_matches(body, header.upper().replace("SHA256=", "sha256="), "app-secret")
    assert not signature_matches(body + b" ", header, "app-secret")
    assert not signature_matches(body, header, "other-secret")
    assert not signature_matches(body, header[len("sha256=") :], "app-secret")
    assert not signature_matches(body, None, "app-secret")
    assert not signature_matches(body, "sha256=é", "app-secret")
