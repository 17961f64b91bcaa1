"""Logging of ``dispatcher serve``: tokens never reach the logs.

Agents and admins pass their token in the socket URL (``/ws/agent?token=...``), Meta its verify token in the
handshake's query string, and uvicorn logs paths with their query strings. :class:`RedactSecrets` replaces
those values before any handler writes them; :func:`uvicorn_log_config` installs it on uvicorn's handlers.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

from uvicorn.config import LOGGING_CONFIG

__all__ = ["RedactSecrets", "redact", "uvicorn_log_config"]

_SECRET_PARAMETER = re.compile(r"((?:^|[?&\s])(?:token|hub\.verify_token)=)[^&\s\"']*")


def redact(text: str) -> str:
    """``text`` with the values of ``token`` and ``hub.verify_token`` query parameters hidden."""
    return _SECRET_PARAMETER.sub(r"\1<redacted>", text)


class RedactSecrets(logging.Filter):
    """Redacts the message and its string arguments (uvicorn's access formatter reads the arguments)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        return True


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's default logging configuration with :class:`RedactSecrets` on every handler."""
    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_secrets"] = {"()": f"{__name__}.RedactSecrets"}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("redact_secrets")
    return config
