"""Sub-commands of the ``dispatcher`` CLI, one module each, each with a ``register(subparsers)``.

The options several sub-commands share are declared here once (this module imports nothing heavy, so
``dispatcher --help`` stays fast).
"""

from __future__ import annotations

import argparse
import os

__all__ = ["add_log_format_option"]


def add_log_format_option(parser: argparse.ArgumentParser) -> None:
    """``--log-format text|json``, defaulting to ``DISPATCHER_LOG_FORMAT`` (else ``text``)."""
    default = os.environ.get("DISPATCHER_LOG_FORMAT", "text").strip().lower() or "text"
    parser.add_argument(
        "--log-format",
        choices=["text", "json"],
        default=default if default in ("text", "json") else "text",
        help="log lines as text or as JSON objects (default: $DISPATCHER_LOG_FORMAT, else text)",
    )
