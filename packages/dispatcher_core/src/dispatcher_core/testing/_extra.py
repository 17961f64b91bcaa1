"""A clear error when an optional test dependency of ``dispatcher_core.testing`` is missing."""

from __future__ import annotations

import importlib.util

__all__ = ["require_testing_extra"]


def require_testing_extra(what: str, *modules: str) -> None:
    """Raise ``ModuleNotFoundError`` naming the ``testing`` extra if one of ``modules`` cannot be imported.

    Called before the first import of pytest or hypothesis, so a user without the extra reads how to get it
    instead of a bare ``No module named 'pytest'``.
    """
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        raise ModuleNotFoundError(
            f"{what} needs {', '.join(missing)}, which come with the testing extra: "
            "pip install 'dispatcher-core[testing]' (or uv add --dev 'dispatcher-core[testing]')",
            name=missing[0],
        )
