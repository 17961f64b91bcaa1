"""The command bus (seed phase 2): one handler per command type, looked up at dispatch.

Callers depend on the bus and on command values only, never on a handler, so a handler can be replaced
(a fake in tests, a queued variant later) without touching them. Adding a command is described in
``docs/guides/add-a-command.md``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from dispatcher_core.messaging.commands import Command
from dispatcher_core.messaging.errors import HandlerAlreadyRegistered, HandlerNotFound

__all__ = ["CommandBus", "DispatchObserver"]

_log = logging.getLogger(__name__)

C = TypeVar("C", bound=Command[Any])
R = TypeVar("R")

#: Called after every dispatch with the command, its duration in seconds and the exception it raised, if any
#: (the seed's "command bus latency" and "handler success rate" are measured with it).
DispatchObserver = Callable[[Command[Any], float, BaseException | None], None]


class CommandBus:
    def __init__(
        self, *, observer: DispatchObserver | None = None, timer: Callable[[], float] = time.perf_counter
    ) -> None:
        self._handlers: dict[type[Command[Any]], Callable[[Any], Awaitable[Any]]] = {}
        self._observer = observer
        self._timer = timer

    def register(self, command_type: type[C], handler: Callable[[C], Awaitable[Any]]) -> None:
        """Make ``handler`` the one handler of ``command_type``."""
        if command_type in self._handlers:
            raise HandlerAlreadyRegistered(f"{command_type.__name__} already has a handler")
        self._handlers[command_type] = handler

    def handles(self, command_type: type[Command[Any]]) -> bool:
        return command_type in self._handlers

    async def dispatch(self, command: Command[R]) -> R:
        """Run the command's handler and return its result; its exceptions propagate unchanged."""
        handler = self._handlers.get(type(command))
        if handler is None:
            raise HandlerNotFound(f"no handler registered for {type(command).__name__}")
        started = self._timer()
        error: BaseException | None = None
        try:
            return cast("R", await handler(command))
        except BaseException as exc:
            error = exc
            raise
        finally:
            if self._observer is not None:
                try:
                    self._observer(command, self._timer() - started, error)
                except Exception:  # an observer's bug must not change the command's outcome
                    _log.exception("command bus observer failed")
