"""What a store can keep as it is: the limits every value from outside is checked against (invariant I10).

Why these checks live in the domain value rather than in each adapter: a lone UTF-16 surrogate
(``"\\ud800"``, valid JSON) cannot be encoded as UTF-8, PostgreSQL refuses a NUL character in text, and a
very long id overflows PostgreSQL's index entries (about 2.7 KB). Each store failed differently (an encoding
error, a refusal that looked like an outage, a value stored and then unreadable by the admin routes), so the
value is refused before any store sees it, with one clear reason, whatever the store.

The limits are generous for real WhatsApp traffic: message ids (``wamid.`` + base64, about 60 characters),
phone number ids and customer ids (digits, or the newer user ids) are far shorter than
:data:`MAX_ID_LENGTH`; a WhatsApp text is at most 4,096 characters.
"""

from __future__ import annotations

import re

from dispatcher_core.errors import InvalidInput

__all__ = [
    "MAX_ID_LENGTH",
    "MAX_KIND_LENGTH",
    "MAX_NAME_LENGTH",
    "MAX_TEXT_LENGTH",
    "check_storable",
    "storable_problem",
]

#: Business number ids, customer ids, WhatsApp message ids, conversation ids, agent ids.
MAX_ID_LENGTH = 256
#: The message type (``text``, ``image``, ...).
MAX_KIND_LENGTH = 64
#: A customer's profile name.
MAX_NAME_LENGTH = 1_024
#: A message's text (a caption, a summary of a location or contacts...).
MAX_TEXT_LENGTH = 65_536

# NUL (refused by PostgreSQL text) and UTF-16 surrogates (no UTF-8 encoding exists for a lone one).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_problem(value: str, limit: int) -> str | None:
    """Why ``value`` cannot be stored as it is (too long, a NUL character, not valid Unicode), or ``None``."""
    if len(value) > limit:
        return f"longer than {limit} characters"
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "contains a NUL character"
    return "is not valid Unicode (a lone surrogate)"


def check_storable(name: str, value: str | None, limit: int) -> None:
    """Raise :class:`InvalidInput` naming ``name`` if ``value`` cannot be stored (``None`` is fine)."""
    if value is None:
        return
    problem = storable_problem(value, limit)
    if problem is not None:
        raise InvalidInput(f"{name} {problem}")
