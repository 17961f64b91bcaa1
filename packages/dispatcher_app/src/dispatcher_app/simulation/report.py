"""Turn a :class:`SimulationResult` into the JSON object (for machines) and the text report (for people).

Both are pure functions of the result, which is itself a pure function of the options: no wall-clock time,
no host name, no random ids, so the same seed prints byte-identical output.
"""

from __future__ import annotations

import json
from typing import Any

from dispatcher_app.simulation.engine import SimulationResult
from dispatcher_app.simulation.metrics import percentile

__all__ = ["render_json", "render_text", "summary"]


def summary(result: SimulationResult) -> dict[str, Any]:
    """Every figure of the run as plain JSON values. The documented keys are in ``docs/simulation.md``."""
    m = result.metrics
    per_agent = {agent: m.assignments[agent] for agent in result.agent_ids}
    waits = sorted(m.pending_waits)
    return {
        "config": result.config.describe(),
        "assignments_per_agent": per_agent,
        "assignments_by_reason": {reason: m.assignments_by_reason[reason] for reason in _REASONS},
        "spread": max(per_agent.values()) - min(per_agent.values()),
        "max_load_per_agent": {agent: m.max_load[agent] for agent in result.agent_ids},
        "pending_wait_seconds": {
            "count": len(waits),
            "p50": _seconds(percentile(waits, 50)),
            "p95": _seconds(percentile(waits, 95)),
            "max": _seconds(waits[-1] if waits else None),
            "mean": _seconds(sum(waits) / len(waits) if waits else None),
        },
        "reassignments": m.reassignments,
        "releases": {"disconnected": m.releases["disconnected"], "response_timeout": m.releases["response_timeout"]},
        "closes": sum(m.closes.values()),
        "closes_by_reason": dict(sorted(m.closes.items())),
        "closed_while_pending": m.closed_while_pending,
        "duplicates": result.duplicates,
        "deliveries": result.deliveries,
        "messages": result.messages,
        "conversations": result.conversations,
        "replies": result.replies,
        "agents": {
            "connects": result.connects,
            "disconnects": result.disconnects,
        },
        "scheduler": {
            "timeout_checks": result.timeout_checks,
            "scheduled_distributions": result.scheduled_distributions,
            "grace_checks": result.grace_checks,
        },
        "final": {
            "open_conversations": result.open_conversations,
            "pending_conversations": result.pending_conversations,
            "pending_messages": result.pending_messages,
            "messages_stored": result.messages_stored,
            "messages_delivered": result.messages_delivered,
        },
        "violations": {
            "assigned_to_unavailable_agent": m.assigned_to_unavailable,
            "over_capacity": m.over_capacity,
            "assigned_twice": m.two_owners,
            "pending_while_agent_free": m.idle_while_pending,
            "messages_lost": result.messages_stored - result.messages_delivered - result.pending_messages,
        },
    }


_REASONS = ("new", "pending", "response_timeout")


def render_json(result: SimulationResult) -> str:
    return json.dumps(summary(result), sort_keys=True, indent=2) + "\n"


def render_text(result: SimulationResult) -> str:
    data = summary(result)
    cfg = data["config"]
    capacity = cfg["capacity"] or "unlimited"
    shifts = (
        "all agents online the whole run"
        if not cfg["shift_hours"]
        else f"shifts of {cfg['shift_hours']:g} h on / {cfg['off_hours']:g} h off"
    )
    lines = [
        f"dispatcher simulate: seed {cfg['seed']}, {cfg['agents']} agents, {cfg['messages']} messages from "
        f"{cfg['customers']} customers over {cfg['hours']:g} h (from {cfg['start']})",
        f"  agents: {shifts}, absence rate {cfg['absence_rate']:g}, reloads {cfg['reload_rate']:g}/h; "
        f"replies after {cfg['reply_delay_min']:g}-{cfg['reply_delay_max']:g} min, close rate {cfg['close_rate']:g}",
        f"  settings: {cfg['routing_policy']}, capacity {capacity}, "
        f"response timeout {_duration(cfg['response_timeout_seconds'])}, "
        f"inactivity {_duration(cfg['inactivity_timeout_seconds'])}, "
        f"checks every {_duration(cfg['timeout_check_interval_seconds'])}, "
        f"grace {_duration(cfg['disconnect_grace_seconds'])}, "
        f"daily distribution {cfg['scheduled_distribution_time']} {cfg['timezone']}",
        "",
        "Traffic",
        f"  deliveries      {data['deliveries']:>8}  ({data['duplicates']} duplicates ignored)",
        f"  messages        {data['messages']:>8}",
        f"  conversations   {data['conversations']:>8}",
        f"  replies         {data['replies']:>8}",
        f"  closes          {data['closes']:>8}  {_pairs(data['closes_by_reason'])}"
        f" ({data['closed_while_pending']} while pending)",
        f"  agent sockets   {data['agents']['connects']:>8} connects, {data['agents']['disconnects']} disconnects",
        "",
        "Assignments (ConversationAssigned events)",
        f"  {'agent':<14}{'assigned':>9}{'max load':>10}",
    ]
    for agent, count in data["assignments_per_agent"].items():
        lines.append(f"  {agent:<14}{count:>9}{data['max_load_per_agent'][agent]:>10}")
    lines += [
        f"  by reason: {_pairs(data['assignments_by_reason'])}",
        f"  fairness spread (max - min): {data['spread']}",
        f"  reassignments: {data['reassignments']}; releases: {_pairs(data['releases'])}",
        "",
    ]
    waits = data["pending_wait_seconds"]
    lines.append(f"Pending waits (pending -> assigned), {waits['count']} conversations")
    if waits["count"]:
        lines.append(
            f"  p50 {_duration(waits['p50'])}   p95 {_duration(waits['p95'])}   max {_duration(waits['max'])}"
            f"   mean {_duration(waits['mean'])}"
        )
    final = data["final"]
    lines += [
        "",
        "End state",
        f"  open conversations {final['open_conversations']}, pending conversations "
        f"{final['pending_conversations']}, pending messages {final['pending_messages']}",
        f"  messages stored {final['messages_stored']}, delivered {final['messages_delivered']}",
        f"  scheduler: {_pairs(data['scheduler'])}",
        f"  invariant violations: {_pairs(data['violations'])}",
    ]
    return "\n".join(lines) + "\n"


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _pairs(mapping: dict[str, Any]) -> str:
    return ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in mapping.items()) or "none"


def _duration(seconds: float | None) -> str:
    """``90`` -> ``1m30s``; ``86400`` -> ``24h``. Sub-second precision only below a minute."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.3g}s" if seconds < 10 or seconds != int(seconds) else f"{int(seconds)}s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else "", f"{secs}s" if secs else ""]
    return "".join(parts) or "0s"
