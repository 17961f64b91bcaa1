"""The optional parts of ``dispatcher-app`` and the error that names the extra to install.

``pip install dispatcher-app`` serves the in-memory and SQLite stores (and runs ``dispatcher demo``); the
other backends come with extras: ``postgres`` (asyncpg), ``redis`` (redis-py), ``whatsapp`` (the Cloud API
sender, already in the base install), ``testing`` (the core's conformance suites), ``all``. The configuration
checks what it needs before anything starts (:func:`missing_extra`), so a PostgreSQL URL without the
``postgres`` extra is a configuration error naming it, never a ``No module named 'asyncpg'`` from deep inside
a driver.
"""

from __future__ import annotations

import importlib.util

__all__ = ["EXTRA_MODULES", "MissingExtra", "missing_extra", "require_extra"]

#: extra -> the modules it brings that the app imports.
EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "postgres": ("asyncpg",),
    "redis": ("redis",),
    "whatsapp": ("httpx", "prometheus_client"),
    "testing": ("pytest", "pytest_asyncio", "hypothesis"),
}


class MissingExtra(ImportError):
    """A configured feature needs an extra that is not installed; the message says which and how to get it."""


def missing_extra(extra: str, purpose: str) -> str | None:
    """``None`` if the modules of ``extra`` are importable, else a message naming the extra."""
    missing = [name for name in EXTRA_MODULES[extra] if importlib.util.find_spec(name) is None]
    if not missing:
        return None
    return (
        f"{purpose} needs the {extra} extra ({', '.join(missing)} not installed): pip install 'dispatcher-app[{extra}]'"
    )


def require_extra(extra: str, purpose: str) -> None:
    """Raise :class:`MissingExtra` if ``extra`` is not installed."""
    message = missing_extra(extra, purpose)
    if message is not None:
        raise MissingExtra(message, name=EXTRA_MODULES[extra][0])
