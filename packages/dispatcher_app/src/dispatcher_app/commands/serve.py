"""``dispatcher serve --host H --port P``: run the app of docs/api.md with uvicorn.

The configuration comes from the environment and a ``.env`` file (``docs/configuration.md``). Without its
secrets the command refuses to start and names every missing or malformed variable (exit status 2), so a
deployment never runs with a webhook anyone can post to.

Slow clients: a request's headers must arrive within --header-timeout seconds and its body within
--body-timeout seconds (else 408 and the connection is closed); an idle kept-alive connection is closed after
--keep-alive-timeout seconds (docs/operations.md).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import uvicorn

from dispatcher_app.app import create_app
from dispatcher_app.commands import add_log_format_option
from dispatcher_app.config import ConfigError, load_config
from dispatcher_app.http_timeouts import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_KEEP_ALIVE_TIMEOUT,
    deadline_h11_protocol,
)
from dispatcher_app.logs import configure_logging, uvicorn_log_config

__all__ = ["register"]

#: Largest frame an agent may send; a reply is at most 4096 characters.
_WS_MAX_SIZE = 256 * 1024


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"not a TCP port: {text!r}")
    return int(text)


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "serve",
        help="run the HTTP and WebSocket server",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=8000, help="TCP port (default: 8000)")
    parser.add_argument("--env-file", default=".env", help="file of variables to read as well (default: .env)")
    parser.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"], help="(default: info)"
    )
    add_log_format_option(parser)
    parser.add_argument(
        "--proxy-headers",
        action="store_true",
        help="trust X-Forwarded-* headers (only behind a reverse proxy you control)",
    )
    parser.add_argument(
        "--header-timeout",
        type=_seconds,
        default=DEFAULT_HEADER_TIMEOUT,
        help=f"seconds a client has to send a request's headers (default: {DEFAULT_HEADER_TIMEOUT:g})",
    )
    parser.add_argument(
        "--body-timeout",
        type=_seconds,
        default=DEFAULT_BODY_TIMEOUT,
        help=f"seconds a client has to send a request's body after its headers (default: {DEFAULT_BODY_TIMEOUT:g})",
    )
    parser.add_argument(
        "--keep-alive-timeout",
        type=int,
        default=DEFAULT_KEEP_ALIVE_TIMEOUT,
        help=f"seconds an idle kept-alive connection stays open (default: {DEFAULT_KEEP_ALIVE_TIMEOUT})",
    )
    parser.set_defaults(handler=run)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"not a number of seconds > 0: {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(env_file=args.env_file)
    except ConfigError as exc:
        print(f"dispatcher serve: refusing to start: {exc}", file=sys.stderr)
        if exc.missing:
            print(
                "set them in the environment or in " + args.env_file + " (see docs/configuration.md)", file=sys.stderr
            )
        return 2
    configure_logging(args.log_level, args.log_format)
    uvicorn.run(
        create_app(config),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        log_config=uvicorn_log_config(args.log_format),
        http=deadline_h11_protocol(header_timeout=args.header_timeout, body_timeout=args.body_timeout),
        timeout_keep_alive=args.keep_alive_timeout,
        ws="websockets-sansio",
        ws_max_size=_WS_MAX_SIZE,
        proxy_headers=args.proxy_headers,
        timeout_graceful_shutdown=10,
    )
    return 0
