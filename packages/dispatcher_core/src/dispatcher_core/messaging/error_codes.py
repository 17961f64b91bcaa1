"""What a Graph API error means for the sender: try again, back off from that recipient, or give up.

The table is docs/whatsapp-sender.md's. Retrying is only ever considered for errors where the message was certainly not
sent (the API answered with an error, or the request never reached it); a timeout is a different thing
(:class:`~dispatcher_core.messaging.errors.SendOutcomeUnknown`) and is never retried.

Codes not in the table are not retried when the HTTP status is 4xx (the request itself is wrong, sending it
again gives the same answer) and retried when it is 5xx or 429 (the server or its capacity is the problem).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "NOT_RETRYABLE_CODES",
    "RECIPIENT_BACKOFF_CODES",
    "RETRYABLE_CODES",
    "WINDOW_CLOSED_CODE",
    "ErrorClass",
    "GraphError",
    "agent_message",
    "classify",
]


class ErrorClass(enum.StrEnum):
    """What to do about a failed attempt."""

    #: Transient (throttling, server trouble): the same request may succeed later.
    RETRYABLE = "retryable"
    #: 131056, too many messages to this one customer: slow down for that recipient only.
    RECIPIENT_BACKOFF = "recipient_backoff"
    #: The request is wrong or not allowed: sending it again as is gives the same answer.
    PERMANENT = "permanent"

    @property
    def is_outage(self) -> bool:
        """Whether the failure says the API is unwell, which is what the circuit breaker counts. A permanent
        error (bad parameter, closed window) proves the API is up and answering; a per-recipient limit is
        about one customer, not the service."""
        return self is ErrorClass.RETRYABLE


#: Throttling and transient server-side failures (docs/whatsapp-sender.md).
RETRYABLE_CODES: frozenset[int] = frozenset({1, 2, 4, 17, 613, 80007, 130429, 131000, 131016, 131057, 133004})
#: Pair rate limit: too many messages to the same recipient in a short time.
RECIPIENT_BACKOFF_CODES: frozenset[int] = frozenset({131056})
#: Never retried as is: invalid parameter, undeliverable, window closed, unsupported, ..., expired token.
NOT_RETRYABLE_CODES: frozenset[int] = frozenset({100, 131026, 131047, 131050, 131051, 132000, 132001, 133010, 190})
#: The customer-service window (24 h since the customer's last message) is closed: only a template can go.
WINDOW_CLOSED_CODE = 131047

_HTTP_TOO_MANY_REQUESTS = 429
_HTTP_SERVER_ERROR = 500


@dataclass(frozen=True, slots=True)
class GraphError:
    """An error answer of the Graph API, or a transport failure before any answer (``code`` and
    ``http_status`` both ``None``, ``title`` says what happened)."""

    code: int | None
    http_status: int | None
    title: str
    subcode: int | None = None
    details: str | None = None
    fbtrace_id: str | None = None

    @property
    def label(self) -> str:
        """A short, bounded label for metrics: the Graph code, else ``http_<status>``, else ``transport``."""
        if self.code is not None:
            return str(self.code)
        if self.http_status is not None:
            return f"http_{self.http_status}"
        return "transport"

    def __str__(self) -> str:
        parts = [f"code {self.code}" if self.code is not None else None]
        parts.append(f"HTTP {self.http_status}" if self.http_status is not None else None)
        where = ", ".join(part for part in parts if part)
        return f"{self.title} ({where})" if where else self.title


def classify(code: int | None, http_status: int | None) -> ErrorClass:
    """The class of an error, by Graph error code first, then by HTTP status.

    ``code`` and ``http_status`` both ``None`` means the request never reached the API (connection refused):
    retryable, since nothing was sent.
    """
    if code is not None:
        if code in RETRYABLE_CODES:
            return ErrorClass.RETRYABLE
        if code in RECIPIENT_BACKOFF_CODES:
            return ErrorClass.RECIPIENT_BACKOFF
        if code in NOT_RETRYABLE_CODES:
            return ErrorClass.PERMANENT
    if http_status is None:
        return ErrorClass.RETRYABLE if code is None else ErrorClass.PERMANENT
    if http_status >= _HTTP_SERVER_ERROR or http_status == _HTTP_TOO_MANY_REQUESTS:
        return ErrorClass.RETRYABLE
    return ErrorClass.PERMANENT


_AGENT_MESSAGES: dict[int, str] = {
    WINDOW_CLOSED_CODE: "window closed: send a template",
    131026: "message undeliverable to this customer",
    131050: "the customer has stopped marketing messages",
    131051: "unsupported message type",
    131056: "too many messages to this customer: wait a moment",
    100: "the message was refused as invalid",
    190: "the WhatsApp access token is invalid or expired: contact an administrator",
}


def agent_message(error: GraphError) -> str:
    """What to tell the agent whose message failed, in a few words they can act on."""
    if error.code is not None and error.code in _AGENT_MESSAGES:
        return _AGENT_MESSAGES[error.code]
    if classify(error.code, error.http_status) is ErrorClass.RETRYABLE:
        return "WhatsApp is unavailable right now: try again later"
    return f"message refused by WhatsApp: {error.title}"
