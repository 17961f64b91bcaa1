"""Tokens in query strings never reach the logs of `dispatcher serve`; JSON lines when asked."""

from __future__ import annotations

import io
import json
import logging
import logging.config
from typing import Any

import pytest

from dispatcher_app.logs import (
    CorrelationFilter,
    JsonFormatter,
    RedactSecrets,
    configure_logging,
    redact,
    uvicorn_log_config,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/ws/agent?token=eyJ.abc.def", "/ws/agent?token=<redacted>"),
        ("/ws/admin?x=1&token=s3cret&y=2", "/ws/admin?x=1&token=<redacted>&y=2"),
        (
            "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=v&hub.challenge=1",
            "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=<redacted>&hub.challenge=1",
        ),
        ("/admin/queue", "/admin/queue"),
        ("?notatoken=1", "?notatoken=1"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_uvicorn_handlers_redact_access_and_websocket_lines() -> None:
    config = uvicorn_log_config()
    assert all("redact_secrets" in handler["filters"] for handler in config["handlers"].values())
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets())
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning('%s - "WebSocket %s" [accepted]', "127.0.0.1:5000", "/ws/agent?token=eyJhbGciOi.x.y")
        logger.warning("%s %s", "GET", "/webhooks/whatsapp?hub.verify_token=the-verify-token")
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue()
    assert "eyJhbGciOi" not in written
    assert "the-verify-token" not in written
    assert written.count("<redacted>") == 2


def parsed(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_uvicorn_json_config_formats_every_handler_as_json() -> None:
    config = uvicorn_log_config("json")
    assert all(f["()"].endswith("JsonFormatter") for f in config["formatters"].values())
    assert all({"redact_secrets", "correlation"} <= set(h["filters"]) for h in config["handlers"].values())
    logging.config.dictConfig(config)  # the configuration is valid as uvicorn will apply it


def test_json_lines_redact_tokens_and_carry_exceptions() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactSecrets())
    handler.addFilter(CorrelationFilter())
    logger = logging.getLogger("test.json_lines")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("GET %s", "/ws/agent?token=eyJhbGciOi.secret.sig")
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    first, second = parsed(stream)
    assert first["message"] == "GET /ws/agent?token=<redacted>"
    assert "correlation_id" not in first
    assert second["level"] == "error"
    assert "ValueError: boom" in second["exc_info"]
    assert "eyJhbGciOi" not in stream.getvalue()


def test_configure_logging_installs_one_json_handler(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    try:
        configure_logging("info", "json")
        configure_logging("info", "json")
        installed = [h for h in root.handlers if isinstance(h.formatter, JsonFormatter)]
        assert len(installed) == 1
        logging.getLogger("test.configure").info("hello %s", "there")
        line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
        assert line["message"] == "hello there"
        assert line["level"] == "info"
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved_handlers:
            root.addHandler(handler)
        root.setLevel(saved_level)
