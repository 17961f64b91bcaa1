"""Driver errors translated into the core's exceptions, at the boundary (``raise ... from exc``).

Nothing above this package ever sees a SQLAlchemy, asyncpg or sqlite3 type:

* a lost race the database itself reported - PostgreSQL serialization failure (``40001``), deadlock
  (``40P01``), lock timeout (``55P03``), a unique violation (``23505``), SQLite ``SQLITE_BUSY`` /
  ``SQLITE_LOCKED`` after the busy timeout - becomes :class:`~dispatcher_core.errors.ConcurrencyConflict`: the
  transaction is gone, nothing was applied, the orchestrator retries the whole cycle;
* any other constraint violation (a foreign key to nothing, a value out of a ``CHECK``) is the caller's data:
  :class:`~dispatcher_core.errors.InvalidInput`;
* so is every other refusal of the data itself (invariant I10: never reported as an outage, which would make
  the sender retry forever): PostgreSQL's data exceptions (class ``22``: a NUL character ``22021``, a value
  too long ``22001``, a value the client could not encode ``22000``), a value over a limit of the server
  (``54000``, e.g. an index entry larger than a page allows), and on SQLite a text that cannot be encoded
  (``UnicodeEncodeError``), an integer out of range, a string or blob too big (``SQLITE_TOOBIG``);
* everything else (connection refused or lost, timeouts, a missing schema, a server shutting down) becomes
  :class:`~dispatcher_core.errors.StoreUnavailable`: the app answers 503 and the caller retries later.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator

from sqlalchemy import exc as sa_exc

from dispatcher_core.errors import ConcurrencyConflict, DispatcherError, InvalidInput, StoreUnavailable

__all__ = ["translate", "translate_if_driver_error", "translated_errors"]

_CONFLICT_SQLSTATES = frozenset({"40001", "40P01", "55P03", "23505"})
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_SQLITE_TOOBIG = 18
_DATA_SQLSTATES = frozenset({"54000"})  # program_limit_exceeded: an index row or value too large


def _is_conflict(orig: BaseException | None) -> bool:
    if orig is None:
        return False
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate in _CONFLICT_SQLSTATES:
        return True
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return True
    if isinstance(orig, sqlite3.IntegrityError) and "UNIQUE constraint failed" in str(orig):
        return True
    return isinstance(orig, sqlite3.OperationalError) and "database is locked" in str(orig)


def _is_integrity(exc: BaseException, orig: BaseException | None) -> bool:
    if isinstance(exc, sa_exc.IntegrityError) or isinstance(orig, sqlite3.IntegrityError):
        return True
    sqlstate = getattr(orig, "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate.startswith("23")  # class 23: integrity constraint violation


def _is_data_refusal(orig: BaseException | None) -> bool:
    if isinstance(orig, UnicodeError | OverflowError | sqlite3.DataError):
        return True
    sqlstate = getattr(orig, "sqlstate", None)
    if isinstance(sqlstate, str) and (sqlstate.startswith("22") or sqlstate in _DATA_SQLSTATES):
        return True  # class 22: data exception
    code = getattr(orig, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF == _SQLITE_TOOBIG


def translate(exc: BaseException) -> DispatcherError:
    """The core error for a driver failure ``exc`` (the caller raises it ``from exc``): a SQLAlchemy error
    wrapping the driver's, or the driver's own (asyncpg, sqlite3) when a statement ran on the raw connection."""
    orig = exc.orig if isinstance(exc, sa_exc.DBAPIError) else exc
    detail = f"{type(orig).__name__}: {orig}"
    if _is_conflict(orig):
        return ConcurrencyConflict(f"the database reported a conflict: {detail}")
    if _is_integrity(exc, orig) or _is_data_refusal(orig):
        return InvalidInput(f"the database refused the data: {detail}")
    if isinstance(exc, sa_exc.DBAPIError | sqlite3.Error) or getattr(orig, "sqlstate", None):
        return StoreUnavailable(f"database error: {detail}")
    return StoreUnavailable(f"database unavailable: {detail}")


_DRIVER_ERRORS = (
    sa_exc.DBAPIError,
    sa_exc.TimeoutError,
    sa_exc.DisconnectionError,
    OSError,
    TimeoutError,
    sqlite3.Error,
    UnicodeError,  # sqlite3 binding a text with a lone surrogate
    OverflowError,  # sqlite3 binding an integer wider than 64 bits
)


def translate_if_driver_error(exc: Exception) -> DispatcherError | None:
    """:func:`translate` for driver, pool and network errors; ``None`` for anything else (a bug to see as is).
    asyncpg's own errors are recognised by module, so that this module needs no import of the untyped driver."""
    if isinstance(exc, _DRIVER_ERRORS) or type(exc).__module__.split(".")[0] == "asyncpg":
        return translate(exc)
    return None


@contextlib.contextmanager
def translated_errors() -> Iterator[None]:
    """Run a block, turning driver, pool and network errors into core errors. Core errors pass through, and so
    do SQLAlchemy's own usage errors (a statement that does not compile is a bug to see, not an outage)."""
    try:
        yield
    except DispatcherError:
        raise
    except Exception as exc:
        failure = translate_if_driver_error(exc)
        if failure is None:
            raise
        raise failure from exc
