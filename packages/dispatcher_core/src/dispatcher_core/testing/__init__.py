"""Test support shipped with the core, for this project and for anyone writing an adapter.

* :class:`ManualClock` - a controllable clock (standard library only).
* :mod:`dispatcher_core.testing.conformance` - one conformance suite per port, as pytest test classes that any
  adapter's tests subclass (needs the ``testing`` extra: pytest, pytest-asyncio);
* :mod:`dispatcher_core.testing.hybrid` - a unit of work made of a complete store with some ports replaced by
  yours, to run one port's suite before the rest of a store exists (standard library only);
* :mod:`dispatcher_core.testing.plugin` - the pytest plugin (entry point ``pytest11``): assertion rewriting
  for the suites, the ``conformance`` marker, fixtures ``manual_clock``, ``uow_factory``, ``uow``;
* :mod:`dispatcher_core.testing.state_machine` - a hypothesis ``RuleBasedStateMachine`` driving the
  orchestrator against a simple model and checking invariants I1-I8 (needs hypothesis).

Importing :mod:`dispatcher_core` never imports this package. See docs/testing.md.
"""

from dispatcher_core.testing.clock import ManualClock

__all__ = ["ManualClock"]
