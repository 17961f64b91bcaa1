"""The conformance examples under ``examples/`` run as a user's project runs them: their own pytest
configuration (``examples/pytest.ini``: strict asyncio mode), the plugin from its entry point. CI runs them again
from the built wheels in a fresh virtualenv (``.ci/check-wheels``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _pytest(directory: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", directory],
        cwd=EXAMPLES,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_the_dict_queue_passes_the_queue_suite_in_a_hybrid_store() -> None:
    result = _pytest("dict_queue")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


def test_a_failing_adapter_shows_the_values_compared() -> None:
    result = _pytest("failing_adapter")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "AssertionError: assert ['a1', 'a2', 'a3'] == ['a2', 'a1', 'a3']" in result.stdout
    assert "3 failed" in result.stdout
