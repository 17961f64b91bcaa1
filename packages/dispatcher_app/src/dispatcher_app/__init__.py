"""dispatcher_app: the composition root (dependency-injector), the Starlette app and the ``dispatcher`` CLI.

Public surface: :func:`create_app` (the ASGI app of docs/api.md), :func:`embedded_lifespan` (to mount it in
another app), :class:`AppConfig` and :func:`load_config` (the environment variables), and the
``mint_agent_token`` helper. Importing this package performs no I/O, and imports those names only when they
are first used, so ``dispatcher --help`` or ``dispatcher simulate`` do not pay for the web stack.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dispatcher_app.app import create_app, embedded_lifespan, runtime_of
    from dispatcher_app.auth import mint_agent_token, verify_agent_token
    from dispatcher_app.config import AppConfig, ConfigError, load_config

__all__ = [
    "AppConfig",
    "ConfigError",
    "create_app",
    "embedded_lifespan",
    "load_config",
    "mint_agent_token",
    "runtime_of",
    "verify_agent_token",
]

_HOMES = {
    "create_app": "dispatcher_app.app",
    "embedded_lifespan": "dispatcher_app.app",
    "runtime_of": "dispatcher_app.app",
    "mint_agent_token": "dispatcher_app.auth",
    "verify_agent_token": "dispatcher_app.auth",
    "AppConfig": "dispatcher_app.config",
    "ConfigError": "dispatcher_app.config",
    "load_config": "dispatcher_app.config",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'dispatcher_app' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
