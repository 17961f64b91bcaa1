"""dispatcher_app: the composition root (dependency-injector), the Starlette app and the ``dispatcher`` CLI.

Public surface: :func:`create_app` (the ASGI app of DESIGN §4), :func:`embedded_lifespan` (to mount it in
another app), :class:`AppConfig` and :func:`load_config` (the environment variables), and the
``mint_agent_token`` helper. Importing this package performs no I/O.
"""

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
