"""The exceptions of the WhatsApp sending side, part of the core's one hierarchy.

Everything derives from :class:`~dispatcher_core.errors.DispatcherError`, so a caller that catches the core's
base class catches these too::

    DispatcherError
    └── MessagingError
        ├── InvalidMessage (also InvalidInput)   a field breaks a limit; nothing was queued or sent
        │   └── TemplateValidationError          one or more template fields break Meta's limits
        ├── InvalidTransition                    an outbox message cannot go from its state to that one
        ├── HandlerNotFound                      the command bus has no handler for that command type
        ├── HandlerAlreadyRegistered             a second handler for the same command type
        ├── BulkJobNotFound
        └── SendError                            a send did not go through (raised by MessageSender adapters)
            ├── SendFailed                       the API refused it, or it never reached the API: NOT sent
            │   └── WindowClosed                 131047: the 24 h window is closed, send a template instead
            ├── SendOutcomeUnknown               the request may have reached the API: maybe sent, never resend
            └── CircuitOpen                      the breaker refused the attempt: NOT sent

The split that matters is *was it sent?*: after :class:`SendFailed` and :class:`CircuitOpen` it certainly was
not, so trying again cannot duplicate it; after :class:`SendOutcomeUnknown` it may have been, so the message is
marked ``unknown`` and reconciled from status webhooks instead of being sent again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from dispatcher_core.errors import DispatcherError, InvalidInput

if TYPE_CHECKING:
    from dispatcher_core.messaging.error_codes import ErrorClass, GraphError

__all__ = [
    "BulkJobNotFound",
    "CircuitOpen",
    "HandlerAlreadyRegistered",
    "HandlerNotFound",
    "InvalidMessage",
    "InvalidTransition",
    "MessagingError",
    "SendError",
    "SendFailed",
    "SendOutcomeUnknown",
    "TemplateValidationError",
    "ValidationIssue",
    "WindowClosed",
]


class MessagingError(DispatcherError):
    """Base class of the sending side's errors."""


class InvalidMessage(MessagingError, InvalidInput):
    """A message field breaks a rule. ``field`` names it, ``limit`` says what is allowed."""

    def __init__(self, field: str, limit: str, detail: str) -> None:
        super().__init__(f"{field}: {detail} (limit: {limit})")
        self.field = field
        self.limit = limit
        self.detail = detail


@dataclass(frozen=True, slots=True)
class ValidationIssue:
    """One broken rule: ``field`` is a path such as ``buttons[2].label``, ``limit`` what is allowed."""

    field: str
    limit: str
    detail: str

    def __str__(self) -> str:
        return f"{self.field}: {self.detail} (limit: {self.limit})"


class TemplateValidationError(InvalidMessage):
    """A template message breaks one or more of Meta's limits; ``issues`` lists every one, not only the first,
    so a caller fixes them all in one go. ``field``/``limit`` are those of the first issue."""

    def __init__(self, issues: Sequence[ValidationIssue]) -> None:
        if not issues:
            raise ValueError("a TemplateValidationError needs at least one issue")
        first = issues[0]
        super().__init__(first.field, first.limit, first.detail)
        self.issues = tuple(issues)
        self.args = ("invalid template message: " + "; ".join(str(issue) for issue in self.issues),)


class InvalidTransition(MessagingError):
    """An outbox message was asked to move to a state its current state does not lead to."""


class HandlerNotFound(MessagingError, LookupError):
    """No handler is registered for that command type."""


class HandlerAlreadyRegistered(MessagingError):
    """A command type has exactly one handler; registering a second one is a wiring bug."""


class BulkJobNotFound(MessagingError, LookupError):
    """No bulk send job has that id (in this process)."""


class SendError(MessagingError):
    """A send did not go through. ``attempts`` is how many HTTP requests were made for it."""

    def __init__(self, message: str, *, attempts: int = 1) -> None:
        super().__init__(message)
        self.attempts = attempts


class SendFailed(SendError):
    """The message was NOT sent: the API answered with an error, or the request never reached it.

    ``error`` carries the Graph error code and HTTP status; ``error_class`` says whether trying again may help
    (see :mod:`dispatcher_core.messaging.error_codes`).
    """

    def __init__(self, error: GraphError, error_class: ErrorClass, *, attempts: int = 1) -> None:
        super().__init__(str(error), attempts=attempts)
        self.error = error
        self.error_class = error_class


class WindowClosed(SendFailed):
    """Graph error 131047: more than 24 h since the customer's last message. Only a template can be sent."""


class SendOutcomeUnknown(SendError):
    """The request may have reached the API (timeout while waiting for the answer, connection dropped, an
    unreadable 2xx). The message may or may not be sent: it must not be sent again blindly."""


class CircuitOpen(SendError):
    """The circuit breaker refused the attempt: nothing was sent. ``retry_after`` is when it will let a trial
    request through."""

    def __init__(self, retry_after: timedelta, *, attempts: int = 0) -> None:
        super().__init__(
            f"WhatsApp sending is paused after repeated failures; next try in {retry_after.total_seconds():.0f} s",
            attempts=attempts,
        )
        self.retry_after = retry_after
