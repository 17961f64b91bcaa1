"""``X-Hub-Signature-256``: HMAC-SHA256 of the raw request bytes with the app secret (docs/api.md).

Checked over the bytes exactly as received, before any parsing, in constant time: re-serialising the JSON
would change whitespace and escapes and break the signature.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["SIGNATURE_HEADER", "sign", "signature_matches"]

SIGNATURE_HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="


def sign(body: bytes, secret: str) -> str:
    """The header value Meta sends for ``body``: ``sha256=<hex digest>``."""
    return _PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_matches(body: bytes, header: str | None, secret: str) -> bool:
    """Whether ``header`` is the signature of ``body``. A missing or malformed header never matches."""
    if not header or not secret or not header.startswith(_PREFIX):
        return False
    return hmac.compare_digest(
        header[len(_PREFIX) :].strip().lower().encode(), sign(body, secret)[len(_PREFIX) :].encode()
    )
