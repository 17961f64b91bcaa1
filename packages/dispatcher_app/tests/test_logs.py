"""Tokens in query strings never reach the logs of `dispatcher serve`."""

from __future__ import annotations

import io
import logging
import logging.config

import pytest

from dispatcher_app.logs import RedactSecrets, redact, uvicorn_log_config


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
