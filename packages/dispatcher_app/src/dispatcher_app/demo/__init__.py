"""``dispatcher demo``: the product working, live, with nothing to configure.

The real app (``create_app``) runs on a throw-away SQLite file (or in memory) with secrets generated for the
run, under a team of simulated agents - real WebSocket clients - and customers posting signed webhooks, while
the dashboard (``/dashboard``) shows it all. Modules: :mod:`~dispatcher_app.demo.options` (options and the
app configuration), :mod:`~dispatcher_app.demo.cast` (who plays), :mod:`~dispatcher_app.demo.agents` and
:mod:`~dispatcher_app.demo.customers` (the simulators), :mod:`~dispatcher_app.demo.server` (uvicorn
in-process) and :mod:`~dispatcher_app.demo.runner` (start and stop, in order).
"""

from __future__ import annotations

from dispatcher_app.demo.options import DemoOptions, demo_config
from dispatcher_app.demo.runner import DemoInfo, DemoSummary, run_demo
from dispatcher_app.demo.server import CannotListen

__all__ = ["CannotListen", "DemoInfo", "DemoOptions", "DemoSummary", "demo_config", "run_demo"]
