"""`dispatcher agent-token` and the refusals of `dispatcher serve` (its real start is in tests/app_e2e)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dispatcher_app.auth import verify_agent_token
from dispatcher_app.cli import main
from dispatcher_app.config import REQUIRED_SECRETS

SECRET = "cli-test-secret-that-is-long-enough-0123456789"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No dispatcher variable leaks in from the developer's shell or a .env file in the checkout."""
    monkeypatch.chdir(tmp_path)
    for name in (*REQUIRED_SECRETS, "DISPATCHER_DATABASE_URL", "DISPATCHER_REDIS_URL", "DISPATCHER_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)


def test_agent_token_prints_a_token_for_the_agent(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DISPATCHER_AGENT_TOKEN_SECRET", SECRET)
    assert main(["agent-token", "agent-42"]) == 0
    token = capsys.readouterr().out.strip()
    assert verify_agent_token(SECRET, token) == "agent-42"


def test_agent_token_reads_the_env_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "custom.env").write_text(f"DISPATCHER_AGENT_TOKEN_SECRET={SECRET}\n")
    assert main(["agent-token", "a", "--env-file", "custom.env", "--ttl", "60"]) == 0
    assert verify_agent_token(SECRET, capsys.readouterr().out.strip()) == "a"


def test_agent_token_without_secret_or_with_a_bad_id_fails(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["agent-token", "a"]) == 2
    assert "DISPATCHER_AGENT_TOKEN_SECRET" in capsys.readouterr().err
    monkeypatch.setenv("DISPATCHER_AGENT_TOKEN_SECRET", SECRET)
    assert main(["agent-token", "~reserved"]) == 2
    captured = capsys.readouterr()
    assert "agent id" in captured.err
    assert captured.out == ""


def test_serve_refuses_to_start_without_its_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert "refusing to start" in err
    for name in REQUIRED_SECRETS:
        assert name in err


def test_serve_names_malformed_variables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".env").write_text(
        "DISPATCHER_ADMIN_TOKEN=a\nDISPATCHER_AGENT_TOKEN_SECRET=too-short\nWHATSAPP_APP_SECRET=b\n"
        "WHATSAPP_VERIFY_TOKEN=c\nDISPATCHER_SCHEDULED_DISTRIBUTION_TIME=9h\n"
    )
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "DISPATCHER_AGENT_TOKEN_SECRET" in err
    assert "DISPATCHER_SCHEDULED_DISTRIBUTION_TIME='9h'" in err
    assert "missing" not in err
