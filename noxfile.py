"""Quality gates, the same ones CI runs (``.ci/run``). ``uv run nox`` runs lint, typecheck, imports and tests.

Every session uses the workspace's locked environment through ``uv run`` so nox, CI and a developer's shell
all check the same thing.
"""

from __future__ import annotations

import pathlib

import nox

nox.options.sessions = ["lint", "typecheck", "imports", "tests"]
nox.options.default_venv_backend = "none"


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting."""
    session.run("uv", "run", "ruff", "check", ".", external=True)
    session.run("uv", "run", "ruff", "format", "--check", ".", external=True)


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over packages, tests and benches."""
    session.run("uv", "run", "mypy", external=True)


@nox.session
def imports(session: nox.Session) -> None:
    """import-linter: the layering contracts of pyproject.toml."""
    session.run("uv", "run", "lint-imports", external=True)


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite with line coverage; extra arguments go to pytest."""
    session.run("uv", "run", "pytest", "--cov", "--cov-report=term", *session.posargs, external=True)


@nox.session
def bench(session: nox.Session) -> None:
    """Every benchmark script under benches/ (prints ratios against raw ceilings; never asserts timings)."""
    for script in sorted(pathlib.Path("benches").glob("*/bench.py")):
        session.run("uv", "run", "python", str(script), *session.posargs, external=True)
