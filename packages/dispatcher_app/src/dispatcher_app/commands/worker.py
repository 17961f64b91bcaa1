"""``dispatcher worker``: only the WhatsApp sender loop, without HTTP (for deployments that separate them).

Every ``serve`` instance already runs the sender loop in-process; a worker is for those who want senders
apart from the web instances. It opens the same store as ``serve`` (same configuration), recovers the outbox at
start-up (sends whose claimer died become ``unknown``) and then, every ``DISPATCHER_TICK_INTERVAL``, claims
and sends the queued messages that are due (each claim is a compare-and-set, so workers and ``serve``
instances never send one message twice), and recovers again every ``DISPATCHER_OUTBOX_LEASE``. Send outcomes
are published as ``message.status`` events through the configured event transport, so agents connected to any
``serve`` instance learn them (with ``DISPATCHER_REDIS_URL`` set; without it events stay in the worker).

Needs the same secrets as ``serve`` plus ``WHATSAPP_ACCESS_TOKEN`` and ``WHATSAPP_PHONE_NUMBER_ID``
(exit status 2 otherwise). Stops on SIGINT / SIGTERM after the messages in flight.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from typing import Any

from dispatcher_app.config import AppConfig, ConfigError, load_config
from dispatcher_app.container import open_runtime
from dispatcher_app.metrics import AppMetrics

__all__ = ["register", "run_worker"]

_log = logging.getLogger(__name__)


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "worker",
        help="run only the WhatsApp sender loop, without HTTP",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--env-file", default=".env", help="file of variables to read as well (default: .env)")
    parser.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"], help="(default: info)"
    )
    parser.set_defaults(handler=run)


async def run_worker(config: AppConfig, stop: asyncio.Event) -> None:
    """Recover, then send what is due every tick until ``stop`` is set."""
    async with open_runtime(config, AppMetrics()) as runtime:
        sending = runtime.sending
        if sending is None:
            raise ConfigError(["WHATSAPP_ACCESS_TOKEN", "WHATSAPP_PHONE_NUMBER_ID"], [])
        await sending.recover()
        next_recovery = runtime.clock.now() + config.outbox_lease
        while not stop.is_set():
            try:
                await sending.send_due()
                if runtime.clock.now() >= next_recovery:
                    next_recovery = runtime.clock.now() + config.outbox_lease
                    await sending.recover()
            except Exception:  # the store or the API may come back: keep going
                _log.exception("sender loop step failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), config.tick_interval.total_seconds())


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(env_file=args.env_file)
        if config.whatsapp is None:
            raise ConfigError(["WHATSAPP_ACCESS_TOKEN", "WHATSAPP_PHONE_NUMBER_ID"], [])
    except ConfigError as exc:
        print(f"dispatcher worker: refusing to start: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await run_worker(config, stop)

    asyncio.run(main())
    return 0
