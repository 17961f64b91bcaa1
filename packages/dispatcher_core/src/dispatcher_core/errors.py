"""The one exception hierarchy of ``dispatcher_core``.

Decisions are values (see :mod:`dispatcher_core.types`); failures are exceptions, all deriving from
:class:`DispatcherError` so a caller can catch the whole family::

    DispatcherError
    ├── InvalidInput            bad input from a caller; nothing was changed
    ├── NotFound
    │   └── ConversationNotFound
    ├── ConversationAlreadyClosed      the conversation is closed; nothing more can happen to it (I8)
    ├── NotConversationOwner    an agent acted on a conversation that is not theirs
    ├── StoreError              raised by adapters, translated from driver errors at the boundary
    │   ├── StoreUnavailable    the store cannot be reached; retry later (HTTP 503)
    │   └── ConcurrencyConflict what a unit of work read has changed; nothing was applied, retry
    │       └── ConversationAlreadyOpen  another open conversation exists for that key (I1)
    └── RetriesExhausted        a read -> decide -> apply cycle kept conflicting

Adapters translate their driver's exceptions into :class:`StoreError` subclasses with
``raise ... from exc`` so nothing above them ever sees a driver type.
"""

from __future__ import annotations

__all__ = [
    "ConcurrencyConflict",
    "ConversationAlreadyClosed",
    "ConversationAlreadyOpen",
    "ConversationNotFound",
    "DispatcherError",
    "InvalidInput",
    "NotConversationOwner",
    "NotFound",
    "RetriesExhausted",
    "StoreError",
    "StoreUnavailable",
]


class DispatcherError(Exception):
    """Base class of every error raised by the dispatcher."""


class InvalidInput(DispatcherError, ValueError):
    """A caller passed a value the domain refuses. Nothing was changed."""


class NotFound(DispatcherError, LookupError):
    """The thing asked for does not exist."""


class ConversationNotFound(NotFound):
    """No conversation has that id."""


class ConversationAlreadyClosed(DispatcherError):
    """The conversation is closed: it can be neither assigned, answered nor closed again."""


class NotConversationOwner(DispatcherError):
    """An agent acted on a conversation that is not assigned to them."""


class StoreError(DispatcherError):
    """A store (database, Redis, ...) failed. Adapters raise subclasses of this only."""


class StoreUnavailable(StoreError):
    """The store cannot be reached or timed out. Nothing was applied; the caller may retry later."""


class ConcurrencyConflict(StoreError):
    """Something a unit of work read was changed by someone else before it committed.

    Nothing of that unit of work was applied. The orchestrator retries the whole read -> decide -> apply
    cycle.
    """


class ConversationAlreadyOpen(ConcurrencyConflict):
    """An open conversation already exists for this (business number, customer) key (invariant I1)."""


class RetriesExhausted(DispatcherError):
    """A read -> decide -> apply cycle conflicted more times than the configured limit."""
