"""The WhatsApp Cloud API side: sending (docs/whatsapp-sender.md) and what builds on it.

* :class:`CloudApiSender` - the ``MessageSender`` adapter over httpx (one request per send, errors
  classified by Graph code); :class:`ResilientSender` wraps it with retry, circuit breaker, per-recipient
  back-off and throughput.
* :class:`OutboxDelivery` (handlers of ``SendTextMessage``/``SendTemplateMessage``, crash recovery) and
  :class:`BulkSender` (``BulkSendTemplate``), both registered on a ``CommandBus``.
* :class:`ReplyService` (an agent's ``reply``), :class:`StatusWebhookHandler` (status webhooks, reconciling
  unknown outcomes), :class:`WhatsAppAnalytics` (``/admin/stats``), :class:`WhatsAppMetrics` (Prometheus).
* :class:`WhatsAppSettings` (``WHATSAPP_*`` variables) and :class:`WhatsAppSending`, all of it assembled.

Needs the ``whatsapp`` extra (httpx, prometheus-client). Importing it performs no I/O.
"""

from dispatcher_adapters.whatsapp.analytics import (
    AgentStats,
    MessageStats,
    StatsReport,
    TemplatePerformance,
    WhatsAppAnalytics,
)
from dispatcher_adapters.whatsapp.bulk import BulkSender
from dispatcher_adapters.whatsapp.cloud_api import CloudApiSender
from dispatcher_adapters.whatsapp.delivery import OutboxDelivery, RecoveryReport
from dispatcher_adapters.whatsapp.metrics import WhatsAppMetrics
from dispatcher_adapters.whatsapp.payloads import StatusUpdate, message_body, parse_statuses
from dispatcher_adapters.whatsapp.reply import ReplyResult, ReplyService
from dispatcher_adapters.whatsapp.resilient_sender import ResilientSender, Sleeper
from dispatcher_adapters.whatsapp.service import WhatsAppSending
from dispatcher_adapters.whatsapp.settings import DEFAULT_API_BASE_URL, InvalidSettings, WhatsAppSettings
from dispatcher_adapters.whatsapp.status_webhook import StatusRouting, StatusWebhookHandler

__all__ = [
    "DEFAULT_API_BASE_URL",
    "AgentStats",
    "BulkSender",
    "CloudApiSender",
    "InvalidSettings",
    "MessageStats",
    "OutboxDelivery",
    "RecoveryReport",
    "ReplyResult",
    "ReplyService",
    "ResilientSender",
    "Sleeper",
    "StatsReport",
    "StatusRouting",
    "StatusUpdate",
    "StatusWebhookHandler",
    "TemplatePerformance",
    "WhatsAppAnalytics",
    "WhatsAppMetrics",
    "WhatsAppSending",
    "WhatsAppSettings",
    "message_body",
    "parse_statuses",
]
