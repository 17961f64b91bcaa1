"""Which Graph API version we call, and when Meta retires each one.

Meta introduces a Graph API version about every four months and keeps each one available for roughly two
years; a call to a retired version is answered as if it were made to the oldest available one, whose
behaviour may differ. The table below is Meta's changelog ("Available Graph API Versions") as of December
2026: v27.0 (introduced November 4, 2026) is the newest, and the retirement dates of v26.0 and v27.0 are not
announced yet. Keep it in step with ``docs/configuration.md``.

:func:`version_warning` is what the app logs at start when the configured version is retired or is within
:data:`RETIREMENT_WARNING` of its retirement.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

__all__ = [
    "GRAPH_API_VERSION",
    "RETIREMENTS",
    "RETIREMENT_WARNING",
    "graph_base_url",
    "is_version",
    "retirement_of",
    "version_of",
    "version_warning",
]

#: The newest version Meta documents (introduced November 4, 2026); the default.
GRAPH_API_VERSION = "v27.0"

#: Graph host the default base URL points at.
GRAPH_HOST = "https://graph.facebook.com"

#: Known retirement dates ("available until"), from Meta's changelog. ``None``: not announced yet.
RETIREMENTS: dict[str, date | None] = {
    "v20.0": date(2026, 9, 24),
    "v21.0": date(2027, 1, 21),
    "v22.0": date(2027, 5, 20),
    "v23.0": date(2027, 10, 8),
    "v24.0": date(2028, 2, 18),
    "v25.0": date(2028, 7, 29),
    "v26.0": None,
    "v27.0": None,
}

#: How long before a version's retirement the app starts warning at start-up.
RETIREMENT_WARNING = timedelta(days=60)

_VERSION = re.compile(r"v\d+\.\d+")


def graph_base_url(version: str = GRAPH_API_VERSION) -> str:
    """``https://graph.facebook.com/{version}``."""
    return f"{GRAPH_HOST}/{version}"


def is_version(text: str) -> bool:
    """Whether ``text`` looks like a Graph version (``v27.0``)."""
    return _VERSION.fullmatch(text) is not None


def version_of(base_url: str) -> str | None:
    """The version a base URL calls (its last path segment, ``.../v27.0`` -> ``v27.0``); ``None`` when the URL
    does not end with one (a proxy that picks the version itself)."""
    last = base_url.rstrip("/").rsplit("/", 1)[-1]
    return last if is_version(last) else None


def retirement_of(version: str) -> date | None:
    """The retirement date of ``version`` when Meta announced one. Versions older than the table are long
    retired: they get ``date.min``."""
    if version in RETIREMENTS:
        return RETIREMENTS[version]
    oldest = min(RETIREMENTS, key=_number)
    if is_version(version) and _number(version) < _number(oldest):
        return date.min
    return None


def version_warning(version: str | None, today: date, window: timedelta = RETIREMENT_WARNING) -> str | None:
    """A sentence for the operator when ``version`` is retired or retires within ``window``; else ``None``."""
    if version is None:
        return None
    retires = retirement_of(version)
    if retires is None:
        return None
    if retires <= today:
        when = "is retired" if retires == date.min else f"was retired on {retires.isoformat()}"
        return (
            f"Graph API {version} {when}: Meta answers it as the oldest available version; set"
            f" WHATSAPP_API_VERSION={GRAPH_API_VERSION} (or a newer version)"
        )
    if retires - today <= window:
        days = (retires - today).days
        return (
            f"Graph API {version} retires on {retires.isoformat()} (in {days} days): set"
            f" WHATSAPP_API_VERSION={GRAPH_API_VERSION} (or a newer version) before then"
        )
    return None


def _number(version: str) -> tuple[int, int]:
    major, _, minor = version[1:].partition(".")
    return int(major), int(minor or 0)
