"""``dispatcher_core`` needs nothing outside the standard library (DESIGN §1).

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
    skipped = {"dispatcher_core.testing.conformance", "dispatcher_core.testing.state_machine"}
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
