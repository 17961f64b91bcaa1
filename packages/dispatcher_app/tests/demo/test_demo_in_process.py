"""``run_demo`` and the ``demo`` command in this process: what they start, what they print, how they stop,
and how they refuse bad options or a port in use."""

from __future__ import annotations

import argparse
import asyncio
import io
import socket
from datetime import timedelta
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from dispatcher_app.commands import demo as demo_command
from dispatcher_app.demo import CannotListen, DemoInfo, DemoOptions, demo_config, run_demo
from dispatcher_app.testing import eventually, receive_json
from dispatcher_core.errors import InvalidInput


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="dispatcher")
    demo_command.register(root.add_subparsers(dest="command", required=True))
    return root


async def test_the_demo_runs_agents_and_customers_and_stops_on_request() -> None:
    stop = asyncio.Event()
    ready: asyncio.Future[DemoInfo] = asyncio.get_running_loop().create_future()
    out = io.StringIO()
    options = DemoOptions(port=0, agents=2, rate=6, capacity=0, seed=5)
    running = asyncio.create_task(run_demo(options, out=out, stop=stop, on_ready=ready.set_result))
    try:
        info = await asyncio.wait_for(ready, 30)
        assert info.agent_ids == ("amina", "bruno")
        assert info.dashboard_url == f"{info.base_url}/dashboard?token={info.admin_token}"
        assert info.dashboard_url in out.getvalue()
        async with httpx.AsyncClient(
            base_url=info.base_url, headers={"Authorization": f"Bearer {info.admin_token}"}
        ) as http:
            assert (await http.get("/dashboard")).status_code == 200

            async def queued() -> list[str]:
                rows = (await http.get("/admin/queue")).json()["agents"]
                return [row["agent_id"] for row in rows if row["position"] is not None]

            async def both_online() -> bool:
                return sorted(await queued()) == ["amina", "bruno"]

            async def replied() -> bool:
                return bool((await http.get("/admin/stats")).json()["replies"]["recorded"] > 0)

            await eventually(both_online, give_up_after=30)
            await eventually(replied, give_up_after=30)

            # The admin socket works through the demo's server, as the dashboard uses it.
            ws_url = info.base_url.replace("http://", "ws://") + f"/ws/admin?token={info.admin_token}"
            async with connect(ws_url) as admin:
                assert (await receive_json(admin))["type"] == "hello"
        stop.set()
        summary = await asyncio.wait_for(running, 30)
    finally:
        stop.set()
        if not running.done():
            running.cancel()
    assert summary.messages_accepted > 0
    assert summary.messages_accepted == summary.messages_posted - summary.webhooks_refused
    assert summary.webhooks_refused == 0
    assert summary.replies > 0
    assert summary.agent_sessions >= 2
    assert "stopped:" in out.getvalue()


async def test_duration_stops_the_demo_by_itself() -> None:
    out = io.StringIO()
    summary = await asyncio.wait_for(run_demo(DemoOptions(port=0, store="memory", duration=0.5), out=out), 30)
    assert summary.agent_sessions == 0  # the first agent connects later than that
    assert "stops after 0.5 s" in out.getvalue()
    assert "in memory" in out.getvalue()


def test_the_command_exits_0_after_its_duration(capsys: pytest.CaptureFixture[str]) -> None:
    args = parser().parse_args(["demo", "--port", "0", "--duration", "0.5", "--store", "memory", "--agents", "1"])
    assert args.handler(args) == 0
    assert "/dashboard?token=" in capsys.readouterr().out


def test_a_port_in_use_is_reported_with_status_1(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        args = parser().parse_args(["demo", "--port", str(port), "--duration", "1"])
        assert args.handler(args) == 1
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err
    assert "--port 0" in err


async def test_run_demo_raises_cannot_listen() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(CannotListen):
            await run_demo(DemoOptions(port=busy.getsockname()[1], duration=1), out=io.StringIO())


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--port", "http"], "not a TCP port"),
        (["--port", "70000"], "not a TCP port"),
        (["--rate", "0"], "must be a positive number"),
        (["--rate", "1000"], "at most 100"),
        (["--agents", "0"], "between 1 and 50"),
        (["--duration", "-3"], "must be a positive number"),
        (["--capacity", "x"], "not an integer"),
        (["--store", "postgresql"], "invalid choice"),
    ],
)
def test_bad_options_are_refused_by_name(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parser().parse_args(["demo", *argv])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "changes",
    [{"port": -1}, {"agents": 51}, {"rate": 0}, {"customers": 0}, {"capacity": -1}, {"duration": 0}, {"store": "x"}],
)
def test_options_check_their_values(changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        DemoOptions(**changes)


def test_the_configuration_has_fresh_secrets_and_short_rules() -> None:
    options = DemoOptions(capacity=4)
    first, second = demo_config(options, "memory://"), demo_config(options, "memory://")
    assert first.admin_token != second.admin_token
    assert first.agent_token_secret != second.agent_token_secret
    assert first.whatsapp_app_secret != second.whatsapp_app_secret
    assert len(first.agent_token_secret.encode()) >= 32
    assert first.whatsapp is None  # nothing can be sent to the Graph API
    assert first.dispatcher.agent_capacity == 4
    assert first.dispatcher.disconnect_grace == timedelta(seconds=5)
    assert first.dispatcher.response_timeout <= timedelta(minutes=2)
