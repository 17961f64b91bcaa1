"""The ``dispatcher_core`` pytest plugin, registered through the ``pytest11`` entry point when
``dispatcher-core`` is installed (nothing to add to a ``conftest.py``; ``-p no:dispatcher_core`` turns it off).

What it does for a project testing its own adapters with :mod:`dispatcher_core.testing.conformance`:

* **assertion rewriting** for the suites' modules, so a failing conformance test shows the values it compared
  (``assert ['a1', 'a2'] == ['a2', 'a1']``) instead of a bare ``AssertionError``. It must happen before the
  suites are imported, which is why it lives in a plugin loaded at start-up;
* the **marker** ``conformance``, carried by every suite test (``pytest -m conformance``, ``-m "not
  conformance"``), registered so ``--strict-markers`` accepts it;
* **fixtures**: ``manual_clock`` (a fresh :class:`~dispatcher_core.testing.ManualClock`), ``uow_factory`` (the
  store under test: *your* fixture overrides it; this default only says so), and ``uow`` (one open unit of work
  of ``uow_factory``, rolled back after the test; needs pytest-asyncio).

It imports nothing but pytest at load time, so it stays harmless in an environment that has pytest but not the
``testing`` extra (the suites then say which extra to install).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from dispatcher_core.ports import UnitOfWork, UnitOfWorkFactory
from dispatcher_core.testing.clock import ManualClock

# Before anything imports them: a module imported first would keep its plain asserts.
pytest.register_assert_rewrite(
    "dispatcher_core.testing.conformance",
    "dispatcher_core.testing.hybrid",
    "dispatcher_core.testing.state_machine",
)

__all__ = ["manual_clock", "pytest_configure", "uow", "uow_factory"]

_OVERRIDE_UOW_FACTORY = (
    "dispatcher_core.testing: this test needs the store under test. Define a `uow_factory` fixture (in your "
    "test class or conftest.py) returning its UnitOfWorkFactory, e.g. `return MyStore().unit_of_work`; to test "
    "one port of your own with the in-memory store for the rest, see dispatcher_core.testing.hybrid."
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "conformance: a test of dispatcher_core's port conformance suites (dispatcher_core.testing.conformance)",
    )


@pytest.fixture
def manual_clock() -> ManualClock:
    """A clock that only moves when the test advances it (starts on Monday 2026-01-05 08:00 UTC)."""
    return ManualClock()


@pytest.fixture
def uow_factory() -> UnitOfWorkFactory:
    """The store under test. Override this fixture; the default fails with instructions."""
    pytest.fail(_OVERRIDE_UOW_FACTORY, pytrace=False)


def _uow_fixture() -> object:
    try:
        import pytest_asyncio  # noqa: PLC0415  - optional: only this fixture needs it
    except ModuleNotFoundError:

        @pytest.fixture(name="uow")
        def missing_pytest_asyncio() -> None:
            pytest.fail("the `uow` fixture needs pytest-asyncio: pip install 'dispatcher-core[testing]'", pytrace=False)

        return missing_pytest_asyncio

    @pytest_asyncio.fixture(name="uow")
    async def open_unit_of_work(uow_factory: UnitOfWorkFactory) -> AsyncIterator[UnitOfWork]:
        """One unit of work of ``uow_factory``, entered; whatever the test did not commit is rolled back."""
        async with uow_factory() as unit_of_work:
            yield unit_of_work

    return open_unit_of_work


uow = _uow_fixture()
