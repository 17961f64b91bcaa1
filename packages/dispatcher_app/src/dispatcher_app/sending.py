"""The WhatsApp Cloud API sender behind the app's seams (``docs/whatsapp-sender.md``, "What the app calls").

The container builds one :class:`~dispatcher_adapters.whatsapp.service.WhatsAppSending` when
``WHATSAPP_ACCESS_TOKEN`` and ``WHATSAPP_PHONE_NUMBER_ID`` are set; this module adapts it to what the routes
know:

* :class:`CloudReplySender` - the :class:`~dispatcher_app.replies.ReplySender` of a ``reply`` frame: the
  reply goes through ``ReplyService.reply`` (outbox, resilient sender, then the customer marked answered);
  a reply the API refused raises :class:`~dispatcher_app.replies.ReplyRejected` (``window_closed`` for
  131047, ``send_failed`` otherwise) with the sender's own wording for the agent;
* :class:`CloudStatusHandler` - the :class:`~dispatcher_app.replies.StatusHandler` of status webhooks: the
  status reconciles the outbox in the store, and a status that changed something becomes a ``message.status``
  event for the agent who owns the conversation now;
* :func:`publish_outbound_status` - THE place where a change of an outbound message becomes a domain event
  (:class:`~dispatcher_core.events.OutboundStatusChanged`), published through the dispatcher's
  :class:`~dispatcher_core.ports.EventPublisher` exactly like the orchestrator's events: it reaches the
  agent's sockets on whichever instance they are (Redis or PostgreSQL event transport). Both the status
  webhook and the sender (sent, failed, unknown, queued again) go through it;
* :func:`sending_hooks` - what the webhook, the background loop and ``/admin/stats`` call
  (:class:`~dispatcher_app.runtime.SendingHooks`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from dispatcher_adapters.whatsapp.payloads import StatusUpdate as CloudStatus
from dispatcher_adapters.whatsapp.service import WhatsAppSending
from dispatcher_adapters.whatsapp.templates import definitions_summary
from dispatcher_app.replies import ReplyReceipt, ReplyRejected, ReplyRequest
from dispatcher_app.runtime import MediaAccess, SendingHooks
from dispatcher_app.serialization import JSON
from dispatcher_app.webhooks.parser import StatusUpdate
from dispatcher_core.events import OutboundStatusChanged
from dispatcher_core.messaging.error_codes import GraphError
from dispatcher_core.messaging.outbound import OutboundMessage, OutboundStatus
from dispatcher_core.ports import EventPublisher

__all__ = [
    "CloudReplySender",
    "CloudStatusHandler",
    "RegistryCollector",
    "publish_outbound_status",
    "sending_hooks",
    "settled_publisher",
]


async def publish_outbound_status(
    publisher: EventPublisher, message: OutboundMessage, previous: OutboundStatus | None, agent_id: str | None
) -> None:
    """Publish that ``message`` (as stored) moved from ``previous``, for ``agent_id`` (the conversation's
    owner). Messages outside a conversation (bulk sends) or without an owner notify nobody."""
    if agent_id is None or message.conversation_id is None:
        return
    failed = message.status is OutboundStatus.FAILED
    await publisher.publish(
        [
            OutboundStatusChanged(
                conversation_id=message.conversation_id,
                agent_id=agent_id,
                message_id=message.id,
                status=message.status.value,
                previous=None if previous is None else previous.value,
                at=message.updated_at,
                client_id=message.client_id,
                wamid=message.wamid,
                error_code=message.error_code if failed else None,
                error_title=message.error_title if failed else None,
            )
        ]
    )


def settled_publisher(publisher: EventPublisher) -> Callable[[OutboundMessage, OutboundStatus], Awaitable[None]]:
    """The sender's ``on_settled`` hook: every send outcome becomes a ``message.status`` event for the agent
    who wrote the message."""

    async def on_settled(message: OutboundMessage, previous: OutboundStatus) -> None:
        await publish_outbound_status(publisher, message, previous, message.agent_id)

    return on_settled


#: Graph error 131047: the customer's 24 h window is closed, only a template may be sent.
_WINDOW_CLOSED = 131047
_TRACKED = {status.value: status for status in OutboundStatus}


class CloudReplySender:
    def __init__(self, sending: WhatsAppSending) -> None:
        self._sending = sending

    async def send_reply(self, request: ReplyRequest) -> ReplyReceipt:
        result = await self._sending.replies.reply(
            request.agent_id, request.conversation_id, request.text, request.client_id
        )
        if not result.accepted:
            code = "window_closed" if result.message.error_code == _WINDOW_CLOSED else "send_failed"
            raise ReplyRejected(code, result.error or "the message could not be sent")
        return ReplyReceipt(
            message_id=result.reference,
            status=result.status.value,
            wamid=result.message.wamid,
            duplicate=result.duplicate,
        )


class CloudStatusHandler:
    """Statuses of messages this deployment's outbox does not know are ignored (counted by the sender)."""

    def __init__(self, sending: WhatsAppSending, publisher: EventPublisher) -> None:
        self._sending = sending
        self._publisher = publisher

    async def handle_status(self, status: StatusUpdate) -> None:
        routing = await self._sending.statuses.handle(_cloud_status(status))
        if routing is None:
            return
        await publish_outbound_status(self._publisher, routing.message, routing.event.previous, routing.agent_id)


def _cloud_status(status: StatusUpdate) -> CloudStatus:
    error = None
    if status.errors:
        first = status.errors[0]
        error = GraphError(code=first.code, http_status=None, title=first.title or first.message or "")
    tracked = _TRACKED.get(status.status)
    return CloudStatus(
        wamid=status.message_id,
        raw_status=status.status,
        # Only what Meta reports: our own states (queued, sending, unknown) never come from a webhook.
        status=tracked if tracked is not None and tracked.value in {"sent", "delivered", "read", "failed"} else None,
        at=status.at,
        recipient_id=status.recipient_id,
        business_number_id=status.business_number_id,
        reference=status.reference,
        error=error,
    )


class RegistryCollector(Collector):
    """Exposes every metric of another registry through the app's (registered for the sender's lifetime, so
    a restarted lifespan registers a fresh sender without colliding with the old one's metrics)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterable[Metric]:
        return self._registry.collect()


async def _error_counts(sending: WhatsAppSending) -> dict[str, int]:
    counts: dict[str, int] = {}
    for metric in sending.metrics.registry.collect():
        if metric.name != "whatsapp_errors":
            continue
        for sample in metric.samples:
            if sample.name == "whatsapp_errors_total":
                counts[sample.labels["code"]] = int(sample.value)
    return counts


def sending_hooks(sending: WhatsAppSending, lease: timedelta = timedelta(minutes=5)) -> SendingHooks:
    async def recover() -> object:
        return await sending.delivery.recover(stale_after=lease)

    async def stats(start: datetime, end: datetime) -> JSON:
        report = await sending.analytics.report(start, end)
        messages = report.messages
        return {
            "whatsapp": {
                "configured": True,
                "from": messages.start.isoformat(),
                "to": messages.end.isoformat(),
                "messages": {
                    "inbound": messages.inbound,
                    "outbound": messages.outbound,
                    "outbound_by_status": dict(messages.outbound_by_status),
                },
                # Failed requests by Graph code since this instance started (retries included).
                "errors_by_code": await _error_counts(sending),
                "agents": [
                    {
                        "agent_id": agent.agent_id,
                        "assignments": agent.assignments,
                        "first_responses": agent.first_responses,
                        "first_response_p50_seconds": agent.first_response_p50_seconds,
                        "first_response_p95_seconds": agent.first_response_p95_seconds,
                    }
                    for agent in report.agents
                ],
            },
            "templates": [
                {
                    "template_name": template.template_name,
                    "total": template.total,
                    "sent": template.sent,
                    "delivered": template.delivered,
                    "read": template.read,
                    "failed": template.failed,
                    "unknown": template.unknown,
                    "delivery_rate": template.delivery_rate,
                    "read_rate": template.read_rate,
                }
                for template in report.templates
            ],
        }

    async def send_due() -> object:
        return await sending.delivery.send_due()

    templates = sending.templates

    async def catalogue() -> list[JSON]:
        assert templates is not None  # only handed out with a catalogue
        return definitions_summary(await templates.catalogue.list())

    return SendingHooks(
        record_inbound=sending.analytics.record_inbound,
        recover=recover,
        stats=stats,
        send_due=send_due,
        on_webhook=sending.handle_webhook,
        templates=catalogue if templates is not None else None,
        media=MediaAccess(find=index.get, open=sending.media.open) if (index := sending.media_index) else None,
    )
