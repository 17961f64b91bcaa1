"""Logging of ``dispatcher serve`` and ``dispatcher demo``: text or JSON lines, one correlation id per request,
and tokens that never reach the logs.

* **Format**: ``DISPATCHER_LOG_FORMAT=text`` (the default, for a terminal) or ``json`` (one JSON object per
  line, for a log pipeline): ``ts``, ``level``, ``logger``, ``message``, ``correlation_id`` when one is set,
  ``exc_info`` for an exception. :func:`configure_logging` installs it on the root logger and
  :func:`uvicorn_log_config` on uvicorn's loggers, so every line of a process has one shape.
* **Correlation**: :class:`CorrelationMiddleware` gives every HTTP request and WebSocket connection an id (the
  client's ``X-Request-ID`` when it is a plain token of at most 64 characters, else a new one) and echoes it in
  the response's ``X-Request-ID``. Everything done on behalf of that request - the webhook, the orchestrator's
  decision, the frames published to agents of this instance, a reply sent for an agent - logs with the same
  ``correlation_id``, because the id lives in a :class:`contextvars.ContextVar` the tasks inherit.
* **Secrets**: agents and admins pass their token in the socket URL (``/ws/agent?token=...``), Meta its verify
  token in the handshake's query string, and uvicorn logs paths with their query strings.
  :class:`RedactSecrets` replaces those values before any handler writes them.
"""

from __future__ import annotations

import contextvars
import copy
import json
import logging
import re
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.config import LOGGING_CONFIG

__all__ = [
    "CorrelationFilter",
    "CorrelationMiddleware",
    "JsonFormatter",
    "LogFormat",
    "RedactSecrets",
    "configure_logging",
    "correlation_id",
    "redact",
    "uvicorn_log_config",
]

LogFormat = Literal["text", "json"]

_SECRET_PARAMETER = re.compile(r"((?:^|[?&\s])(?:token|hub\.verify_token)=)[^&\s\"']*")
_CLIENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(correlation)s: %(message)s"

#: The id of the request or connection this code runs for (``None`` outside one: background jobs).
correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("dispatcher_correlation_id", default=None)


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


class CorrelationFilter(logging.Filter):
    """Stamps every record with ``correlation_id`` (and ``correlation``, `` [id]`` or empty, for text)."""

    def filter(self, record: logging.LogRecord) -> bool:
        current = correlation_id.get()
        record.correlation_id = current
        record.correlation = f" [{current}]" if current else ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line; never raises on an argument it cannot serialise (``str`` of it instead)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        current = getattr(record, "correlation_id", None)
        if current:
            entry["correlation_id"] = current
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _formatter(fmt: LogFormat) -> logging.Formatter:
    return JsonFormatter() if fmt == "json" else logging.Formatter(_TEXT_FORMAT)


def configure_logging(level: str = "info", fmt: LogFormat = "text") -> None:
    """The root logger of a ``dispatcher`` process: one stderr handler in ``fmt``, secrets redacted, records
    stamped with the correlation id. Replaces handlers a previous call installed."""
    handler = logging.StreamHandler()
    handler.setFormatter(_formatter(fmt))
    handler.addFilter(RedactSecrets())
    handler.addFilter(CorrelationFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())


def uvicorn_log_config(fmt: LogFormat = "text") -> dict[str, Any]:
    """uvicorn's logging configuration with :class:`RedactSecrets` and :class:`CorrelationFilter` on every
    handler; in ``json`` every uvicorn line (access log included) is a :class:`JsonFormatter` line."""
    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    filters = config.setdefault("filters", {})
    filters["redact_secrets"] = {"()": f"{__name__}.RedactSecrets"}
    filters["correlation"] = {"()": f"{__name__}.CorrelationFilter"}
    if fmt == "json":
        for formatter in config["formatters"].values():
            formatter.clear()
            formatter["()"] = f"{__name__}.JsonFormatter"
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).extend(["redact_secrets", "correlation"])
    return config


class CorrelationMiddleware:
    """Pure ASGI middleware: sets :data:`correlation_id` for an HTTP request or a WebSocket connection and
    answers it in ``X-Request-ID``."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self._app(scope, receive, send)
            return
        given = next((value for key, value in scope["headers"] if key == b"x-request-id"), b"")
        text = given.decode("latin-1")
        current = text if _CLIENT_ID.fullmatch(text) else uuid.uuid4().hex
        token = correlation_id.set(current)
        header = (b"x-request-id", current.encode("ascii"))

        async def send_with_id(message: Message) -> None:
            if message["type"] in ("http.response.start", "websocket.accept"):
                message = {**message, "headers": [*message.get("headers", []), header]}
            await send(message)

        try:
            await self._app(scope, receive, send_with_id)
        finally:
            correlation_id.reset(token)
