"""``run_demo``: the app on a throw-away store, a simulated team and their customers, until told to stop.

Order matters, both ways. Start: the server first (the dashboard address is printed only once it answers),
then the customers (the first conversations wait: nobody is online yet), then the agents one after the other,
so the first minute shows pending conversations drained as agents arrive. Stop (Ctrl-C, SIGTERM, ``duration``
or ``stop``): customers and agents first, so nothing reconnects, then the server (its lifespan closes the
store), then the temporary directory holding the SQLite file is removed: a demo leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from dispatcher_app.auth import mint_agent_token
from dispatcher_app.config import AppConfig
from dispatcher_app.demo.agents import SimulatedAgent
from dispatcher_app.demo.cast import agent_profiles, customers
from dispatcher_app.demo.customers import CustomerTraffic
from dispatcher_app.demo.options import DemoOptions, demo_config
from dispatcher_app.demo.server import DemoServer, bind_socket, demo_app

__all__ = ["DemoInfo", "DemoSummary", "run_demo"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DemoInfo:
    """Where the running demo answers, and how to get in."""

    base_url: str
    dashboard_url: str
    admin_token: str
    agent_ids: tuple[str, ...]
    store: str


@dataclass(frozen=True, slots=True)
class DemoSummary:
    messages_posted: int
    messages_accepted: int
    webhooks_refused: int
    replies: int
    closes: int
    agent_sessions: int


def _url_host(host: str) -> str:
    """The host to put in URLs: a wildcard address is reached through the loopback interface."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


@contextlib.contextmanager
def _stop_on_signals(stop: asyncio.Event, force: Callable[[], None]) -> Iterator[None]:
    """SIGINT and SIGTERM set ``stop``; a second one forces the server down without waiting."""
    loop = asyncio.get_running_loop()
    received = 0

    def handle() -> None:
        nonlocal received
        received += 1
        if received == 1:
            stop.set()
        else:
            force()

    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, handle)
        except (NotImplementedError, RuntimeError):  # not the main thread, or no signals here (Windows)
            continue
        installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def _print_banner(info: DemoInfo, options: DemoOptions, out: TextIO) -> None:
    duration = f"stops after {options.duration:g} s" if options.duration else "Ctrl-C to stop"
    lines = [
        "",
        "  dispatcher demo is running - open the live dashboard:",
        "",
        f"    {info.dashboard_url}",
        "",
        f"  admin token   {info.admin_token}",
        f"                (Authorization: Bearer ... on {info.base_url}/admin/*)",
        f"  agents        {len(info.agent_ids)} simulated: {', '.join(info.agent_ids)}",
        f"  customers     {options.customers}, about {options.rate:g} messages per second",
        f"  store         {info.store}",
        f"  rules         capacity {options.capacity or 'unlimited'} per agent, "
        f"grace {options.disconnect_grace.total_seconds():g} s, "
        f"response timeout {options.response_timeout.total_seconds():g} s, "
        f"inactivity close {options.inactivity_timeout.total_seconds():g} s",
        "",
        f"  {duration}.",
        "",
    ]
    out.write("\n".join(lines) + "\n")
    out.flush()


async def run_demo(
    options: DemoOptions,
    *,
    out: TextIO | None = None,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[DemoInfo], None] | None = None,
) -> DemoSummary:
    """Run the demo until ``stop`` is set, a signal arrives or ``options.duration`` elapses.

    ``on_ready`` is called with the addresses once the server answers (tests use it). Raises
    :class:`~dispatcher_app.demo.server.CannotListen` when the address cannot be bound, and re-raises the
    error of a simulator that failed.
    """
    out = out or sys.stdout
    stop = stop or asyncio.Event()
    rng = random.Random(options.seed)
    async with AsyncExitStack() as stack:
        if options.store == "sqlite":
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dispatcher-demo-")))
            database_url = f"sqlite+aiosqlite:///{workdir / 'demo.sqlite3'}"
            store = f"SQLite in {workdir} (deleted on exit)"
        else:
            database_url, store = "memory://", "in memory (gone on exit)"
        config = demo_config(options, database_url)
        sock = bind_socket(options.host, options.port)
        stack.callback(sock.close)
        server = DemoServer(demo_app(config), sock)
        stack.enter_context(_stop_on_signals(stop, server.force))
        await server.start()
        stack.push_async_callback(server.stop)

        port = sock.getsockname()[1]
        base_url = f"http://{_url_host(options.host)}:{port}"
        profiles = agent_profiles(options.agents, rng)
        info = DemoInfo(
            base_url=base_url,
            dashboard_url=f"{base_url}/dashboard?token={config.admin_token}",
            admin_token=config.admin_token,
            agent_ids=tuple(profile.agent_id for profile in profiles),
            store=store,
        )
        traffic = CustomerTraffic(
            base_url=base_url,
            app_secret=config.whatsapp_app_secret,
            customers=customers(options.customers, rng),
            rate=options.rate,
            rng=random.Random(rng.random()),
        )
        agents = [
            SimulatedAgent(profile, url=_agent_url(base_url, config, profile.agent_id), rng=random.Random(rng.random()))
            for profile in profiles
        ]
        _print_banner(info, options, out)
        if on_ready is not None:
            on_ready(info)

        simulators = [asyncio.create_task(traffic.run(), name="demo-customers")]
        simulators += [asyncio.create_task(agent.run(), name=f"demo-agent-{agent.agent_id}") for agent in agents]
        try:
            await _until_stopped(stop, simulators, options.duration)
        finally:
            for task in simulators:
                task.cancel()
            await asyncio.gather(*simulators, return_exceptions=True)
        out.write("  stopping: agents and customers first, then the server...\n")
        out.flush()

    summary = DemoSummary(
        messages_posted=traffic.counts.sent,
        messages_accepted=traffic.counts.accepted,
        webhooks_refused=traffic.counts.refused,
        replies=sum(agent.counts.replies for agent in agents),
        closes=sum(agent.counts.closes for agent in agents),
        agent_sessions=sum(agent.counts.sessions for agent in agents),
    )
    out.write(
        f"  stopped: {summary.messages_accepted} customer messages, {summary.replies} replies, "
        f"{summary.closes} conversations closed by agents, {summary.agent_sessions} agent sessions.\n"
    )
    out.flush()
    return summary


def _agent_url(base_url: str, config: AppConfig, agent_id: str) -> str:
    token = mint_agent_token(config.agent_token_secret, agent_id)
    return base_url.replace("http://", "ws://", 1) + f"/ws/agent?token={token}"


async def _until_stopped(stop: asyncio.Event, simulators: list[asyncio.Task[None]], duration: float | None) -> None:
    """Wait for ``stop`` or the end of ``duration``; a simulator that ends on its own is a bug: raise it."""
    stopped = asyncio.create_task(stop.wait(), name="demo-stop")
    try:
        done, _ = await asyncio.wait([stopped, *simulators], timeout=duration, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await stopped
    for task in done:
        if task is not stopped:
            _log.error("a demo simulator stopped unexpectedly: %s", task.get_name())
            task.result()  # raises its error
            raise RuntimeError(f"{task.get_name()} stopped unexpectedly")
