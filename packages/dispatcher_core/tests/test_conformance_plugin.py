"""The conformance suites as a user's project meets them, in a pytest run of its own (pytester, a separate
process with no configuration: pytest-asyncio's default strict mode, the plugin loaded from its entry point).

A correct wrapper of the in-memory store passes the unit-of-work suite; a wrapper that forgets to delegate
``rollback`` and one that commits twice fail it - the claim of docs/embedding.md.
"""

from __future__ import annotations

import textwrap

import pytest

WRAPPERS = textwrap.dedent(
    """
    from types import TracebackType

    import pytest

    from dispatcher_adapters.memory import MemoryStore
    from dispatcher_core.ports import UnitOfWork, UnitOfWorkFactory
    from dispatcher_core.testing.conformance import UnitOfWorkConformance


    class Wrapper:
        def __init__(self, inner: UnitOfWork) -> None:
            self._inner = inner

        conversations = property(lambda self: self._inner.conversations)
        pending = property(lambda self: self._inner.pending)
        queue = property(lambda self: self._inner.queue)
        presence = property(lambda self: self._inner.presence)
        slots = property(lambda self: self._inner.slots)

        async def __aenter__(self):
            await self._inner.__aenter__()
            return self

        async def __aexit__(self, exc_type, exc, tb) -> None:
            await self._inner.__aexit__(exc_type, exc, tb)

        async def commit(self) -> None:
            await self._inner.commit()

        async def rollback(self) -> None:
            await self._inner.rollback()


    class ForgetsRollback(Wrapper):
        async def rollback(self) -> None:
            pass


    class CommitsTwice(Wrapper):
        async def commit(self) -> None:
            await self._inner.commit()
            await self._inner.commit()  # "to be sure"


    def factory(wrapper: type[Wrapper]) -> UnitOfWorkFactory:
        store = MemoryStore()
        return lambda: wrapper(store.unit_of_work())


    class TestCorrectWrapper(UnitOfWorkConformance):
        @pytest.fixture
        def uow_factory(self) -> UnitOfWorkFactory:
            return factory(Wrapper)


    class TestForgetsRollback(UnitOfWorkConformance):
        @pytest.fixture
        def uow_factory(self) -> UnitOfWorkFactory:
            return factory(ForgetsRollback)


    class TestCommitsTwice(UnitOfWorkConformance):
        @pytest.fixture
        def uow_factory(self) -> UnitOfWorkFactory:
            return factory(CommitsTwice)
    """
)


# What pytest-asyncio itself asks every project to set (a deprecation warning otherwise). No asyncio_mode: strict.
INI = "[pytest]\nasyncio_default_fixture_loop_scope = function\n"


def _outcomes(result: pytest.RunResult) -> dict[str, str]:
    """test id -> PASSED / FAILED, from ``-rA``'s short summary."""
    outcomes = {}
    for line in result.outlines:
        word, _, rest = line.partition(" ")
        if word in ("PASSED", "FAILED", "ERROR"):
            outcomes[rest.split(" - ")[0].split("::", 1)[1]] = word
    return outcomes


def test_broken_unit_of_work_wrappers_fail_the_suite(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_wrappers=WRAPPERS)
    result = pytester.runpytest_subprocess("-rA", "-p", "no:cacheprovider", "-W", "error")
    outcomes = _outcomes(result)
    correct = {k: v for k, v in outcomes.items() if k.startswith("TestCorrectWrapper::")}
    assert len(correct) >= 8
    assert set(correct.values()) == {"PASSED"}, result.stdout.str()
    # the forgetful wrapper fails exactly the test made for it: everything else rolls back on exit anyway
    forgetful = {k for k, v in outcomes.items() if k.startswith("TestForgetsRollback::") and v != "PASSED"}
    assert forgetful == {"TestForgetsRollback::test_rollback_discards_the_writes_made_so_far"}
    twice = {k for k, v in outcomes.items() if k.startswith("TestCommitsTwice::") and v != "PASSED"}
    assert "TestCommitsTwice::test_commit_is_once_only" in twice
    # and the message says what went wrong, with the values (assertion rewriting from the plugin)
    assert "this unit of work has already committed" in result.stdout.str()
    result.stdout.fnmatch_lines(["E * AssertionError: assert Conversation(id=*) is None"])


def test_the_plugin_provides_markers_and_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(
        test_fixtures=textwrap.dedent(
            """
            from datetime import timedelta

            import pytest

            from dispatcher_adapters.memory import MemoryStore
            from dispatcher_core.testing.conformance import SlotClaimsConformance


            class TestSlots(SlotClaimsConformance):
                @pytest.fixture
                def uow_factory(self):
                    return MemoryStore().unit_of_work


            def test_clock(manual_clock):
                start = manual_clock.now()
                assert manual_clock.advance(timedelta(minutes=5)) - start == timedelta(minutes=5)


            @pytest.mark.asyncio
            async def test_uow_needs_a_store(uow):
                pass
            """
        )
    )
    selected = pytester.runpytest_subprocess("-m", "conformance", "--strict-markers", "-p", "no:cacheprovider")
    selected.assert_outcomes(passed=4, deselected=2)
    everything = pytester.runpytest_subprocess("--strict-markers", "-p", "no:cacheprovider")
    everything.assert_outcomes(passed=5, errors=1)
    everything.stdout.fnmatch_lines(["*Define a `uow_factory` fixture*"])
