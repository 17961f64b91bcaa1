"""Who may talk to the app: agents with a JWT, admins with a bearer token.

Agent tokens are plain HS256 JWTs whose ``sub`` is the agent id, signed with
``DISPATCHER_AGENT_TOKEN_SECRET``: any backend that shares the secret can mint them (``docs/api.md`` shows how
in a few lines of any language), so the dispatcher never needs its own user database. Comparisons of secrets
are constant-time.
"""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta

import jwt

from dispatcher_app.config import MIN_AGENT_SECRET_BYTES
from dispatcher_core.errors import InvalidInput
from dispatcher_core.orchestrator.queries import RESERVED_AGENT_PREFIX  # re-exported: the app refuses such agent ids

__all__ = [
    "RESERVED_AGENT_PREFIX",
    "AgentTokenError",
    "bearer_token_matches",
    "mint_agent_token",
    "token_matches",
    "verify_agent_token",
]

_ALGORITHM = "HS256"
_MAX_AGENT_ID = 200


class AgentTokenError(Exception):
    """The agent token is missing, malformed, badly signed, expired or names no valid agent."""


def _check_agent_id(agent_id: str) -> None:
    if not agent_id or len(agent_id) > _MAX_AGENT_ID or agent_id.startswith(RESERVED_AGENT_PREFIX):
        raise InvalidInput(
            f"agent id must be 1-{_MAX_AGENT_ID} characters and not start with {RESERVED_AGENT_PREFIX!r}"
        )
    if any(not character.isprintable() for character in agent_id):
        raise InvalidInput("agent id must contain printable characters only")


def mint_agent_token(secret: str, agent_id: str, *, now: datetime | None = None, ttl: timedelta | None = None) -> str:
    """A JWT for ``agent_id``: ``{"sub": agent_id, "iat": now}`` plus ``exp`` when ``ttl`` is given."""
    if len(secret.encode()) < MIN_AGENT_SECRET_BYTES:
        raise InvalidInput(f"the agent token secret must be at least {MIN_AGENT_SECRET_BYTES} bytes")
    _check_agent_id(agent_id)
    claims: dict[str, object] = {"sub": agent_id}
    if now is not None:
        claims["iat"] = int(now.timestamp())
        if ttl is not None:
            claims["exp"] = int((now + ttl).timestamp())
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def verify_agent_token(secret: str, token: str | None) -> str:
    """The agent id of a valid token; :class:`AgentTokenError` otherwise. ``exp`` is enforced when present."""
    if not token:
        raise AgentTokenError("missing token")
    if len(secret.encode()) < MIN_AGENT_SECRET_BYTES:
        raise AgentTokenError("the server's agent token secret is too short")
    try:
        claims = jwt.decode(token, secret, algorithms=[_ALGORITHM], options={"require": ["sub"]})
    except jwt.PyJWTError as exc:
        raise AgentTokenError(f"invalid token: {exc}") from exc
    agent_id = claims.get("sub")
    if not isinstance(agent_id, str):
        raise AgentTokenError("invalid token: sub must be a string")
    try:
        _check_agent_id(agent_id)
    except InvalidInput as exc:
        raise AgentTokenError(f"invalid token: {exc}") from exc
    return agent_id


def bearer_token_matches(authorization: str | None, expected: str) -> bool:
    """Whether an ``Authorization`` header is exactly ``Bearer <expected>``, compared in constant time."""
    if not authorization or not expected:
        return False
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(token.strip().encode(), expected.encode())


def token_matches(candidate: str | None, expected: str) -> bool:
    """Constant-time comparison of a token given in a query string (admin socket, webhook handshake)."""
    if not candidate or not expected:
        return False
    return hmac.compare_digest(candidate.encode(), expected.encode())
