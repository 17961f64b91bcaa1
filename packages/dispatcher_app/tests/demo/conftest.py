"""Running ``dispatcher demo`` as a newcomer does: the installed console script, in a fresh directory, with
no dispatcher or WhatsApp variable in its environment. Its output goes to a log file the tests read the
dashboard's address from.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

_URL = re.compile(r"(http://\S+)/dashboard\?token=(\S+)")
_STORE = re.compile(r"SQLite in (\S+) \(deleted on exit\)")


@dataclass(frozen=True, slots=True)
class DemoProcess:
    process: subprocess.Popen[bytes]
    log: Path
    base_url: str
    dashboard_url: str
    admin_token: str
    store_dir: Path | None

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def admin(self, path: str) -> httpx.Response:
        response = httpx.get(self.base_url + path, headers={"Authorization": f"Bearer {self.admin_token}"}, timeout=10)
        response.raise_for_status()
        return response

    def stop(self, sig: signal.Signals = signal.SIGINT, give_up_after: float = 30.0) -> int:
        """Send ``sig`` and wait for the exit status (the wait only stops a broken demo from hanging)."""
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=give_up_after)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"the demo ignored {sig.name} for {give_up_after}s:\n{self.output()}") from None


def demo_command(*args: str) -> list[str]:
    """The installed ``dispatcher`` console script (what ``uv run dispatcher demo`` runs)."""
    return [str(Path(sys.executable).with_name("dispatcher")), "demo", *args]


def clean_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("DISPATCHER_", "WHATSAPP_"))}


@contextmanager
def running_demo(cwd: Path, *args: str, give_up_after: float = 60.0) -> Iterator[DemoProcess]:
    """``dispatcher demo --port 0 ARGS`` started in ``cwd``, yielded once it printed its dashboard address.
    Still running on exit: SIGINT, then a kill if it does not stop."""
    log = cwd.parent / f"{cwd.name}-demo.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            demo_command("--port", "0", *args),
            cwd=cwd,
            env=clean_environment(),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + give_up_after
        while True:
            text = log.read_text(errors="replace")
            found = _URL.search(text)
            if found is not None:
                break
            if process.poll() is not None:
                raise AssertionError(f"dispatcher demo exited with {process.returncode}:\n{text}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no dashboard address after {give_up_after}s:\n{text}")
            time.sleep(0.05)
        store = _STORE.search(text)
        yield DemoProcess(
            process=process,
            log=log,
            base_url=found.group(1),
            dashboard_url=found.group(0),
            admin_token=found.group(2),
            store_dir=None if store is None else Path(store.group(1)),
        )
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def eventually(check: Callable[[], object], what: str, give_up_after: float = 30.0, every: float = 0.2) -> None:
    """Wait until ``check()`` is truthy. The limit only keeps a broken test from hanging."""
    deadline = time.monotonic() + give_up_after
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {give_up_after}s: {what}")
        time.sleep(every)
