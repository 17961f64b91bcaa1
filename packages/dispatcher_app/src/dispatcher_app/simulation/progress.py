"""A one-line progress bar for long runs, on stderr only, so ``--json`` output on stdout stays clean.

Redrawn only when the shown permille changes (never on a timer), so it costs nothing per action and does not
depend on the wall clock.
"""

from __future__ import annotations

from typing import TextIO

__all__ = ["ProgressBar"]

_WIDTH = 30


class ProgressBar:
    """Call the instance with the fraction done (0.0 to 1.0); call :meth:`close` at the end."""

    def __init__(self, stream: TextIO, label: str = "simulating") -> None:
        self._stream = stream
        self._label = label
        self._shown = -1

    def __call__(self, fraction: float) -> None:
        permille = min(1000, max(0, int(fraction * 1000)))
        if permille == self._shown:
            return
        self._shown = permille
        filled = permille * _WIDTH // 1000
        bar = "#" * filled + "." * (_WIDTH - filled)
        self._stream.write(f"\r{self._label} [{bar}] {permille / 10:5.1f}%")
        self._stream.flush()

    def close(self) -> None:
        """Finish the line (if anything was drawn) so the next output starts on a fresh one."""
        if self._shown >= 0:
            self._stream.write("\n")
            self._stream.flush()
