"""``dispatcher demo`` as a newcomer runs it: no configuration, a dashboard address printed, agents and
customers at work behind the admin API, and a clean stop on Ctrl-C or SIGTERM that leaves nothing behind."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest

from .conftest import DemoProcess, eventually, running_demo

pytestmark = pytest.mark.slow


def queued(demo: DemoProcess) -> list[str]:
    return [row["agent_id"] for row in demo.admin("/admin/queue").json()["agents"] if row["position"] is not None]


def open_conversations(demo: DemoProcess) -> list[dict[str, Any]]:
    conversations: list[dict[str, Any]] = demo.admin("/admin/conversations?status=open").json()["conversations"]
    return conversations


def test_demo_serves_the_dashboard_and_agents_work(tmp_path: Path) -> None:
    workdir = tmp_path / "fresh-clone"
    workdir.mkdir()
    with running_demo(workdir, "--rate", "4", "--agents", "3", "--duration", "120", "--seed", "11") as demo:
        page = demo.admin("/dashboard")
        assert page.headers["content-type"].startswith("text/html")
        assert "dashboard/static/dashboard.js" in page.text
        assert "connect-src 'self'" in page.headers["content-security-policy"]
        script = demo.admin("/dashboard/static/dashboard.js")
        assert "ws/admin" in script.text
        assert demo.admin("/dashboard/static/dashboard.css").headers["content-type"].startswith("text/css")

        eventually(lambda: len(queued(demo)) == 3, "the three agents are in the queue")
        assert set(queued(demo)) == {"amina", "bruno", "chloe"}
        eventually(
            lambda: any(c["agent_id"] is not None for c in open_conversations(demo)),
            "customers' conversations are assigned to agents",
        )
        eventually(lambda: demo.admin("/admin/stats").json()["replies"]["recorded"] > 0, "agents reply")
        stats = demo.admin("/admin/stats").json()
        assert stats["messages"]["webhook"]["accepted"] > 0
        assert sum(stats["assignments"]["by_reason"].values()) > 0

        assert demo.stop(signal.SIGINT) == 0, demo.output()
        assert "stopped:" in demo.output()
    assert demo.store_dir is not None
    assert not demo.store_dir.exists(), "the temporary SQLite directory is removed"
    assert list(workdir.iterdir()) == [], "the demo writes nothing in the current directory"


def test_sigterm_stops_everything_with_status_0(tmp_path: Path) -> None:
    """What a process manager sends (Ctrl-C, SIGINT, is the test above)."""
    with running_demo(tmp_path, "--agents", "2", "--duration", "120") as demo:
        eventually(lambda: len(queued(demo)) == 2, "both agents are connected")
        assert demo.stop(signal.SIGTERM) == 0, demo.output()
    output = demo.output()
    assert "Traceback" not in output
    assert "stopping: agents and customers first" in output
