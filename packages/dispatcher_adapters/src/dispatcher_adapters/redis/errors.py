"""Driver errors translated at the boundary, so nothing above the adapter sees a redis-py type.

* connection lost, timeout, server loading, read-only replica, out of memory -> ``StoreUnavailable``
  (nothing was applied as far as we know; retry later, HTTP 503);
* a failed precondition of the commit script -> ``ConcurrencyConflict`` (or ``ConversationAlreadyOpen``);
* a value redis-py cannot send (``DataError``, a text that cannot be encoded) -> ``InvalidInput``: the data is
  refused, the store is fine (invariant I10: a refusal of data is never reported as an outage);
* anything else redis-py raises -> ``StoreError``.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

import redis.exceptions as redis_errors

from dispatcher_core.errors import DispatcherError, InvalidInput, StoreError, StoreUnavailable

__all__ = ["UNAVAILABLE", "guarded", "translate"]

T = TypeVar("T")

#: Driver errors that mean "the server cannot serve us now".
UNAVAILABLE: tuple[type[Exception], ...] = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    redis_errors.BusyLoadingError,
    redis_errors.ReadOnlyError,
    redis_errors.OutOfMemoryError,
    OSError,
)
_UNAVAILABLE_REPLIES = ("LOADING", "READONLY", "MASTERDOWN", "OOM", "TRYAGAIN", "CLUSTERDOWN")


def translate(exc: Exception) -> DispatcherError:
    """The core error for a driver exception (call with ``raise translate(exc) from exc``)."""
    if isinstance(exc, redis_errors.DataError | UnicodeError):
        return InvalidInput(f"Redis refused the data: {exc}")
    if isinstance(exc, UNAVAILABLE):
        return StoreUnavailable(f"Redis unavailable: {exc}")
    if isinstance(exc, redis_errors.ResponseError) and str(exc).startswith(_UNAVAILABLE_REPLIES):
        return StoreUnavailable(f"Redis unavailable: {exc}")
    return StoreError(f"Redis error: {exc}")


async def guarded(call: Awaitable[T]) -> T:
    """Await one driver call, translating its failures."""
    try:
        return await call
    except (redis_errors.RedisError, OSError, UnicodeError) as exc:
        raise translate(exc) from exc
