"""Fixtures of the multi-instance SQL tests."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest


@pytest.fixture(scope="session")
def invariants() -> ModuleType:
    """``tests/support/invariants.py``, loaded by path: pytest does not put the repository root on the path."""
    name = "dispatcher_test_support_invariants"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).resolve().parents[1] / "support" / "invariants.py"
        )
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the class is being built
        spec.loader.exec_module(module)
    return sys.modules[name]
