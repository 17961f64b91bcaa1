"""Offline simulation of the dispatcher on a virtual clock (``dispatcher simulate``).

It drives the real :class:`~dispatcher_core.orchestrator.DispatcherOrchestrator` and
:class:`~dispatcher_core.services.scheduler.DispatcherScheduler` on the memory adapters, so what it reports is
what the dispatcher does, not what a model of it would do:

* :mod:`.config` - :class:`SimulationConfig`, every option of a run, validated;
* :mod:`.workload` - the scripted traffic and agents' shifts, drawn from the seed;
* :mod:`.engine` - the discrete-event loop (``await`` :func:`simulate`, or :func:`run_simulation` from
  synchronous code);
* :mod:`.metrics` - the figures, computed from the domain events;
* :mod:`.report`, :mod:`.html_report` - JSON, text and HTML renderings;
* :mod:`.progress` - the stderr progress bar.
"""

from dispatcher_app.simulation.config import SIMULATION_START, SimulationConfig, SimulationConfigError
from dispatcher_app.simulation.engine import EventObserver, SimulationResult, run_simulation, simulate
from dispatcher_app.simulation.html_report import render_html
from dispatcher_app.simulation.metrics import EventMetrics
from dispatcher_app.simulation.progress import ProgressBar
from dispatcher_app.simulation.report import render_json, render_text, summary

__all__ = [
    "SIMULATION_START",
    "EventMetrics",
    "EventObserver",
    "ProgressBar",
    "SimulationConfig",
    "SimulationConfigError",
    "SimulationResult",
    "render_html",
    "render_json",
    "render_text",
    "run_simulation",
    "simulate",
    "summary",
]
