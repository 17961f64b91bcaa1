"""API keys for the public HTTP API (``/api/v1``): what is kept of a key, and how a key is made and hashed.

A key is shown once, when it is created; the store keeps only its SHA-256 (a key is 32 random bytes, so a
plain fast hash is enough: there is nothing to brute-force, unlike a password). Presenting a key means
hashing it and looking the hash up (:meth:`~dispatcher_core.ports.ApiKeyRepository.find_by_hash`).
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import datetime

from dispatcher_core.errors import InvalidInput

__all__ = ["API_KEY_PREFIX", "MAX_API_KEY_NAME", "ApiKey", "ApiKeyScope", "hash_api_key", "new_api_key"]

#: Every key starts with this, so a leaked one is recognisable by secret scanners.
API_KEY_PREFIX = "dsp_"
MAX_API_KEY_NAME = 200


class ApiKeyScope(enum.StrEnum):
    """What a key may do. Scopes are nested: ``admin`` may do everything ``send`` may, which may do everything
    ``read`` may."""

    READ = "read"
    SEND = "send"
    ADMIN = "admin"

    def allows(self, needed: ApiKeyScope) -> bool:
        order = (ApiKeyScope.READ, ApiKeyScope.SEND, ApiKeyScope.ADMIN)
        return order.index(self) >= order.index(needed)


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A stored API key: never the key itself, only its hash. ``hint`` is the key's first characters, enough
    for a person to tell keys apart in a list and nothing to authenticate with."""

    id: str
    name: str
    scope: ApiKeyScope
    key_hash: str
    hint: str
    created_at: datetime
    revoked_at: datetime | None = None

    def __post_init__(self) -> None:
        if not self.name.strip() or len(self.name) > MAX_API_KEY_NAME:
            raise InvalidInput(f"an API key's name must be 1-{MAX_API_KEY_NAME} characters")
        if any(not character.isprintable() for character in self.name):
            raise InvalidInput("an API key's name must contain printable characters only")
        if self.created_at.tzinfo is None:
            raise InvalidInput("created_at must be timezone-aware")

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def revoke(self, at: datetime) -> ApiKey:
        """Revoked at ``at``; a revoked key keeps its first revocation time."""
        return self if self.revoked_at is not None else replace(self, revoked_at=at)


def hash_api_key(key: str) -> str:
    """The hex SHA-256 of a presented key: what the store keeps and looks up."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_api_key(name: str, scope: ApiKeyScope, now: datetime) -> tuple[str, ApiKey]:
    """A fresh key (``dsp_`` + 43 URL-safe characters, 256 random bits) and the record to store. The key is
    returned once, here, and kept nowhere."""
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    record = ApiKey(
        id="key_" + secrets.token_hex(8),
        name=name,
        scope=ApiKeyScope(scope),
        key_hash=hash_api_key(key),
        hint=key[: len(API_KEY_PREFIX) + 4],
        created_at=now,
    )
    return key, record
