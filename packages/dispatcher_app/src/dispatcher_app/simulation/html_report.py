"""``--report FILE``: one self-contained HTML page (inline CSS and SVG, no script, no CDN).

Charts: open conversations per agent over virtual time (with the number of pending conversations), new
assignments per agent, and the distribution of pending waits. The page is a pure function of the result, like
the JSON, so two runs with the same seed write the same file.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

from dispatcher_app.simulation.engine import SimulationResult
from dispatcher_app.simulation.report import render_text, summary

__all__ = ["render_html"]

_W, _H = 760, 260  # chart size
_L, _R, _T, _B = 48, 12, 12, 34  # margins: left (y labels), right, top, bottom (x labels)
_BINS = 20
_MAX_LINES = 24  # beyond this many agents the load chart shows min / mean / max instead of one line each


def render_html(result: SimulationResult) -> str:
    data = summary(result)
    cfg = data["config"]
    title = f"dispatcher simulate: seed {cfg['seed']}, {cfg['agents']} agents, {cfg['messages']} messages"
    sections = [
        ("Open conversations per agent over time", _load_chart(result)),
        ("Pending conversations over time", _pending_chart(result)),
        ("New assignments per agent", _assignment_chart(data["assignments_per_agent"])),
        ("Pending waits (pending to assigned)", _wait_histogram(sorted(result.metrics.pending_waits))),
    ]
    body = "".join(f"<h2>{html.escape(name)}</h2>\n{svg}\n" for name, svg in sections)
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style></head><body>\n"
        f"<h1>{html.escape(title)}</h1>\n{body}"
        f"<h2>Report</h2>\n<pre>{html.escape(render_text(result))}</pre>\n</body></html>\n"
    )


_CSS = (
    "body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;max-width:800px;color:#222}"
    "h1{font-size:1.3em}h2{font-size:1.05em;margin-top:1.6em}pre{background:#f6f6f6;padding:1em;overflow:auto}"
    "svg{background:#fff;border:1px solid #ddd}svg text{font-size:11px;fill:#444}.axis{stroke:#999}"
    ".grid{stroke:#eee}.legend{font-size:11px}"
)


def _load_chart(result: SimulationResult) -> str:
    samples = result.metrics.samples
    agents = result.agent_ids
    series: list[tuple[str, str, list[float]]] = []
    if len(agents) <= _MAX_LINES:
        for index, agent in enumerate(agents):
            series.append((agent, _colour(index, len(agents)), [float(s.loads[index]) for s in samples]))
    else:
        series.append(("max", "#c33", [float(max(s.loads)) for s in samples]))
        series.append(("mean", "#36c", [sum(s.loads) / len(s.loads) for s in samples]))
        series.append(("min", "#393", [float(min(s.loads)) for s in samples]))
    return _time_chart(result, series)


def _pending_chart(result: SimulationResult) -> str:
    return _time_chart(result, [("pending", "#000", [float(s.pending) for s in result.metrics.samples])])


def _time_chart(result: SimulationResult, series: list[tuple[str, str, list[float]]]) -> str:
    """Lines over virtual time (hours from the start), one per series, with a legend."""
    samples = result.metrics.samples
    if not samples:
        return "<p>No samples.</p>"
    hours = result.config.hours
    xs = [(s.at - result.config.start).total_seconds() / 3600 for s in samples]
    top = _nice_top(max(max(values) for _, _, values in series))
    parts = [_axes(hours, top, "hours from the start")]
    for _, colour, values in series:
        points = " ".join(f"{_x(x, hours):.1f},{_y(v, top):.1f}" for x, v in zip(xs, values, strict=True))
        parts.append(f"<polyline fill='none' stroke='{colour}' stroke-width='1.5' points='{points}'/>")
    legend = " ".join(f"<span style='color:{colour}'>&#9632; {html.escape(name)}</span>" for name, colour, _ in series)
    return _svg(parts) + f"\n<p class='legend'>{legend}</p>"


def _assignment_chart(per_agent: dict[str, Any]) -> str:
    agents = list(per_agent)
    top = _nice_top(max(per_agent.values()))
    width = (_W - _L - _R) / max(1, len(agents))
    parts = [_axes(None, top, "")]
    for index, agent in enumerate(agents):
        count = per_agent[agent]
        x = _L + index * width
        y = _y(count, top)
        parts.append(
            f"<rect x='{x + width * 0.1:.1f}' y='{y:.1f}' width='{width * 0.8:.1f}' "
            f"height='{_H - _B - y:.1f}' fill='{_colour(index, len(agents))}'>"
            f"<title>{html.escape(agent)}: {count}</title></rect>"
        )
        if len(agents) <= _MAX_LINES:
            parts.append(
                f"<text x='{x + width / 2:.1f}' y='{_H - _B + 14}' text-anchor='middle'>{html.escape(agent)}</text>"
            )
    return _svg(parts)


def _wait_histogram(waits: Sequence[float]) -> str:
    if not waits:
        return "<p>No conversation waited: every conversation was assigned as soon as it opened.</p>"
    unit, scale = ("hours", 3600.0) if waits[-1] > 3 * 3600 else ("minutes", 60.0)
    longest = max(waits[-1], 1.0)
    counts = [0] * _BINS
    for wait in waits:
        counts[min(_BINS - 1, int(wait / longest * _BINS))] += 1
    top = _nice_top(max(counts))
    width = (_W - _L - _R) / _BINS
    parts = [_axes(longest / scale, top, f"wait ({unit})")]
    for index, count in enumerate(counts):
        y = _y(count, top)
        low, high = index * longest / _BINS / scale, (index + 1) * longest / _BINS / scale
        parts.append(
            f"<rect x='{_L + index * width + 1:.1f}' y='{y:.1f}' width='{width - 2:.1f}' "
            f"height='{_H - _B - y:.1f}' fill='#36c'><title>{low:.3g}-{high:.3g} {unit}: {count}</title></rect>"
        )
    return _svg(parts)


def _nice_step(span: float, ticks: int) -> float:
    """The smallest round step (1, 1.5, 2, 2.5, 3, 4 or 5 x 10^k; whole once the span allows it) that covers
    ``span`` in ``ticks`` steps."""
    magnitude = 10.0 ** math.floor(math.log10(max(span, 1e-9) / ticks))
    for factor in (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 10.0):
        step = factor * magnitude
        if ticks * step >= span and (span < ticks or step == int(step)):
            return step
    return 10.0 * math.ceil(span / ticks)


def _nice_top(value: float) -> float:
    """The top of a y axis with four round gridlines at or above ``value``."""
    return 4 * _nice_step(max(value, 4.0), 4)


def _axes(x_max: float | None, y_max: float, x_label: str) -> str:
    """Axes with four y gridlines and, if ``x_max`` is given, round x ticks from 0 up to ``x_max``."""
    parts = [
        f"<line class='axis' x1='{_L}' y1='{_H - _B}' x2='{_W - _R}' y2='{_H - _B}'/>",
        f"<line class='axis' x1='{_L}' y1='{_T}' x2='{_L}' y2='{_H - _B}'/>",
    ]
    for line in range(1, 5):
        value = y_max * line / 4
        y = _y(value, y_max)
        parts.append(f"<line class='grid' x1='{_L + 1}' y1='{y:.1f}' x2='{_W - _R}' y2='{y:.1f}'/>")
        parts.append(f"<text x='{_L - 4}' y='{y + 4:.1f}' text-anchor='end'>{value:g}</text>")
    if x_max is not None:
        step = _nice_step(x_max, 5)
        for index in range(int(x_max / step + 1e-9) + 1):
            x = _x(index * step, x_max)
            parts.append(f"<text x='{x:.1f}' y='{_H - _B + 14}' text-anchor='middle'>{index * step:g}</text>")
        parts.append(f"<text x='{(_L + _W - _R) / 2}' y='{_H - 4}' text-anchor='middle'>{x_label}</text>")
    return "".join(parts)


def _svg(parts: list[str]) -> str:
    opening = f"<svg xmlns='http://www.w3.org/2000/svg' width='{_W}' height='{_H}' viewBox='0 0 {_W} {_H}'>"
    return opening + "".join(parts) + "</svg>"


def _x(value: float, maximum: float) -> float:
    return _L + (_W - _L - _R) * (value / maximum if maximum else 0.0)


def _y(value: float, maximum: float) -> float:
    return _H - _B - (_H - _B - _T) * (value / maximum if maximum else 0.0)


def _colour(index: int, count: int) -> str:
    return f"hsl({index * 360 // max(1, count)},65%,45%)"
