"""``GET /admin/stats``: message, assignment and template statistics in one document.

Store-wide figures (open, assigned and pending conversations, pending messages, queue length) are read from
the shared store, so every instance answers the same. Counters since start-up (messages received, duplicates,
decisions) are this instance's, read from its Prometheus registry: sum them across instances, or scrape
``/metrics``, for a deployment-wide view. Further sections (``replies``...) come from
``Runtime.stats_sources``; with WhatsApp sending configured, ``whatsapp`` (messages in and out by status over
the range, failures by Graph code, per-agent first responses) and ``templates`` (template performance over the
range) come from the sender's analytics. Without it, ``whatsapp`` says ``configured: false`` and
``templates`` is empty.
"""

from __future__ import annotations

from datetime import datetime

from dispatcher_app.runtime import Runtime
from dispatcher_app.serialization import JSON

__all__ = ["collect_stats"]

_DECISIONS = ("KEEP_CURRENT_AGENT", "ASSIGN_NEW_AGENT", "PENDING")
_REASONS = ("new", "pending", "response_timeout")
_MESSAGE_OUTCOMES = ("accepted", "duplicate", "invalid", "unavailable")


def _sample(runtime: Runtime, name: str, labels: dict[str, str]) -> int:
    value = runtime.metrics.registry.get_sample_value(name, labels)
    return int(value or 0)


async def collect_stats(runtime: Runtime, start: datetime, end: datetime) -> JSON:
    """Everything; the sender's sections cover messages created in [``start``, ``end``)."""
    async with runtime.uow_factory() as uow:
        loads = dict(await uow.conversations.count_active_by_agent())
        pending_conversations = len(await uow.conversations.list_pending())
        pending_messages = await uow.pending.count()
        queue_length = len(await uow.queue.list())
    assigned = sum(loads.values())
    stats: JSON = {
        "instance_id": runtime.instance_id,
        "conversations": {
            "open": assigned + pending_conversations,
            "assigned": assigned,
            "pending": pending_conversations,
            "by_agent": loads,
        },
        "messages": {
            "pending": pending_messages,
            "webhook": {
                outcome: _sample(runtime, "dispatcher_webhook_items_total", {"kind": "message", "outcome": outcome})
                for outcome in _MESSAGE_OUTCOMES
            },
            "statuses": _sample(runtime, "dispatcher_webhook_items_total", {"kind": "status", "outcome": "handled"}),
        },
        "assignments": {
            "by_decision": {
                decision: _sample(runtime, "dispatcher_assignments_total", {"decision": decision})
                for decision in _DECISIONS
            },
            "by_reason": {
                reason: _sample(runtime, "dispatcher_conversations_assigned_total", {"reason": reason})
                for reason in _REASONS
            },
        },
        "queue": {"agents": queue_length},
    }
    for name, source in runtime.stats_sources.items():
        stats[name] = await source()
    if runtime.sending is None:
        stats["whatsapp"] = {"configured": False, "from": start.isoformat(), "to": end.isoformat()}
        stats["templates"] = []
    else:
        stats.update(await runtime.sending.stats(start, end))
    return stats
