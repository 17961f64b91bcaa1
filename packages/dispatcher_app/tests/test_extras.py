"""Optional backends: what is not installed is named, with the extra that brings it, before anything starts.
(``.ci/check-wheels`` checks the real thing: ``dispatcher-app`` installed with no extra serves memory and
SQLite and refuses PostgreSQL naming the extra.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dispatcher_app.config import AppConfig, ConfigError, load_config
from dispatcher_app.extras import EXTRA_MODULES, MissingExtra, require_extra
from dispatcher_core.errors import InvalidInput

SECRETS = {
    "DISPATCHER_ADMIN_TOKEN": "admin",
    "DISPATCHER_AGENT_TOKEN_SECRET": "s" * 32,
    "WHATSAPP_APP_SECRET": "app",
    "WHATSAPP_VERIFY_TOKEN": "verify",
}


@pytest.fixture
def without_postgres_and_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if asyncpg and redis were not installed: the extras name modules that do not exist."""
    monkeypatch.setitem(EXTRA_MODULES, "postgres", ("asyncpg_absent_for_this_test",))
    monkeypatch.setitem(EXTRA_MODULES, "redis", ("redis_absent_for_this_test",))


@pytest.mark.usefixtures("without_postgres_and_redis")
def test_serve_configuration_names_the_missing_extras(tmp_path: Path) -> None:
    environ = {
        **SECRETS,
        "DISPATCHER_DATABASE_URL": "postgresql://db/dispatcher",
        "DISPATCHER_REDIS_URL": "redis://cache:6379/0",
    }
    with pytest.raises(ConfigError) as error:
        load_config(environ, env_file=tmp_path / "absent.env")
    assert list(error.value.invalid) == [
        "DISPATCHER_DATABASE_URL (a postgresql:// database URL needs the postgres extra (asyncpg_absent_for_this_test"
        " not installed): pip install 'dispatcher-app[postgres]')",
        "DISPATCHER_REDIS_URL (a redis:// URL needs the redis extra (redis_absent_for_this_test not installed): "
        "pip install 'dispatcher-app[redis]')",
    ]
    memory = load_config({**SECRETS, "DISPATCHER_DATABASE_URL": "memory://"}, env_file=tmp_path / "absent.env")
    assert memory.database_url == "memory://"  # what needs no extra still works


@pytest.mark.usefixtures("without_postgres_and_redis")
def test_an_embedding_config_names_the_missing_extra() -> None:
    with pytest.raises(InvalidInput, match=r"pip install 'dispatcher-app\[redis\]'"):
        AppConfig(
            admin_token="a", agent_token_secret="s" * 32, whatsapp_app_secret="w", whatsapp_verify_token="v",
            database_url="redis://cache:6379/0",
        )  # fmt: skip
    with pytest.raises(MissingExtra, match=r"dispatcher-app\[redis\]") as error:
        require_extra("redis", "a redis:// URL")
    assert error.value.name == "redis_absent_for_this_test"


def test_the_app_imports_no_optional_backend_until_configured() -> None:
    probe = (
        "import sys\n"
        "from dispatcher_app import AppConfig, create_app\n"
        "create_app(AppConfig(admin_token='a', agent_token_secret='s' * 32, whatsapp_app_secret='w',"
        " whatsapp_verify_token='v', database_url='memory://'))\n"
        "print(sorted({name.split('.')[0] for name in sys.modules} & {'redis', 'asyncpg', 'pytest', 'hypothesis'}))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
