"""Test support shipped with the core, for this project and for anyone writing an adapter.

* :class:`ManualClock` - a controllable clock (standard library only).
* :mod:`dispatcher_core.testing.conformance` - one conformance suite per port, as pytest test classes that any
  adapter's tests subclass (needs the ``testing`` extra: pytest, pytest-asyncio).
* :mod:`dispatcher_core.testing.state_machine` - a hypothesis ``RuleBasedStateMachine`` driving the
  orchestrator against a simple model and checking invariants I1-I8 (needs hypothesis).

Importing :mod:`dispatcher_core` never imports this package.
"""

from dispatcher_core.testing.clock import ManualClock

__all__ = ["ManualClock"]
