"""``dispatcher_core`` needs nothing outside the standard library (docs/architecture.md).

Imports every module of the package (but the pytest/hypothesis test helpers) in a fresh interpreter that has
no site-packages at all and only ``packages/dispatcher_core/src`` on its path, then checks that every module
it loaded is either ours or the standard library's.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

PROBE = textwrap.dedent(
    """
    import importlib, pkgutil, sys
    try:
        import hypothesis
    except ImportError:
        print("ISOLATED")
    import dispatcher_core
    skipped = {
        "dispatcher_core.testing.conformance", "dispatcher_core.testing.state_machine", "dispatcher_core.testing.plugin"
    }
    for info in pkgutil.walk_packages(dispatcher_core.__path__, "dispatcher_core."):
        if not any(info.name == s or info.name.startswith(s + ".") for s in skipped):
            importlib.import_module(info.name)
    foreign = sorted(
        name for name in sys.modules
        if name.split(".")[0] not in sys.stdlib_module_names
        and name.split(".")[0] != "dispatcher_core"
        and name != "__main__"
        and not name.startswith("_sysconfigdata")  # the interpreter's own build data, loaded by sysconfig
    )
    print("FOREIGN", foreign)
    print("OK", len([n for n in sys.modules if n.startswith("dispatcher_core")]))
    """
)


def test_core_imports_with_nothing_but_the_standard_library() -> None:
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", f"import sys; sys.path.insert(0, {str(SRC)!r})\n{PROBE}"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "ISOLATED" in result.stdout, "the probe could see installed packages"
    assert "FOREIGN []" in result.stdout, result.stdout
    loaded = int(result.stdout.split("OK")[1])
    assert loaded > 20  # the probe really walked the package


EXTRA_PROBE = textwrap.dedent(
    """
    for module in ("dispatcher_core.testing.conformance", "dispatcher_core.testing.state_machine"):
        try:
            __import__(module)
        except ModuleNotFoundError as exc:
            print(module, "->", exc.name, "|", exc)
    """
)


def test_the_test_helpers_name_the_extra_they_need() -> None:
    """Without pytest or hypothesis, importing the suites says to install ``dispatcher-core[testing]``."""
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", f"import sys; sys.path.insert(0, {str(SRC)!r})\n{EXTRA_PROBE}"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2, result.stdout
    conformance, state_machine = lines
    assert conformance.startswith("dispatcher_core.testing.conformance -> pytest |")
    assert "needs pytest, pytest_asyncio" in conformance
    assert state_machine.startswith("dispatcher_core.testing.state_machine -> hypothesis |")
    for line in lines:
        assert "pip install 'dispatcher-core[testing]'" in line
