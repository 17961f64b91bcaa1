"""The WhatsApp sending side of the domain (second seed, docs/whatsapp-sender.md), standard library only.

* Phase 1, templates: :class:`TemplateMessage` and its components, :class:`TemplateMessageValidator`,
  :class:`TemplateMessageBuilder` with :class:`HeaderComponentBuilder`, :class:`BodyComponentBuilder` and
  :class:`ButtonComponentBuilder`, Meta's limits in :class:`TemplateLimits`.
* Phase 2, commands and events: :class:`SendTextMessage`, :class:`SendTemplateMessage`,
  :class:`BulkSendTemplate` through the :class:`CommandBus`; :class:`MessageSent`, :class:`MessageFailed`,
  :class:`TemplateUsed`, :class:`MessageStatusChanged` through the :class:`EventDispatcher`.
* Phase 3, resilience as pure logic on the Clock port: :class:`RetryPolicy` (with the Graph error-code table
  of :mod:`.error_codes`), :class:`RecipientBackoff`, :class:`CircuitBreaker`, :class:`ThroughputLimiter`.
* The outbox entity :class:`OutboundMessage`. Its port and the sender's are
  :mod:`dispatcher_core.ports.outbox_repository` and :mod:`dispatcher_core.ports.message_sender`.

Exceptions are in :mod:`.errors`. Importing this package performs no I/O.
"""

from dispatcher_core.messaging.builders import (
    BodyComponentBuilder,
    ButtonComponentBuilder,
    HeaderComponentBuilder,
    TemplateMessageBuilder,
)
from dispatcher_core.messaging.circuit_breaker import BreakerState, CircuitBreaker, CircuitPermit
from dispatcher_core.messaging.command_bus import CommandBus
from dispatcher_core.messaging.commands import (
    BulkJob,
    BulkProgress,
    BulkSendTemplate,
    Command,
    SendTemplateMessage,
    SendTextMessage,
)
from dispatcher_core.messaging.error_codes import ErrorClass, GraphError, agent_message, classify
from dispatcher_core.messaging.errors import (
    BulkJobNotFound,
    CircuitOpen,
    HandlerAlreadyRegistered,
    HandlerNotFound,
    InvalidMessage,
    InvalidTransition,
    MessagingError,
    SendError,
    SendFailed,
    SendOutcomeUnknown,
    TemplateValidationError,
    ValidationIssue,
    WindowClosed,
)
from dispatcher_core.messaging.event_dispatcher import EventDispatcher
from dispatcher_core.messaging.events import (
    MessageFailed,
    MessageSent,
    MessageStatusChanged,
    MessagingEvent,
    TemplateUsed,
)
from dispatcher_core.messaging.limits import TEXT_MAX_LENGTH, TemplateLimits
from dispatcher_core.messaging.outbound import Content, OutboundMessage, OutboundStatus, TextContent
from dispatcher_core.messaging.parameters import (
    CurrencyParameter,
    DateTimeParameter,
    LocationParameter,
    ParameterType,
    TextParameter,
)
from dispatcher_core.messaging.retry_policy import (
    GiveUp,
    RecipientBackoff,
    RetryAfter,
    RetryDecision,
    RetryPolicy,
    WaitForRecipient,
)
from dispatcher_core.messaging.template import (
    BodyComponent,
    ButtonComponent,
    ButtonKind,
    FooterComponent,
    HeaderComponent,
    HeaderFormat,
    TemplateMessage,
)
from dispatcher_core.messaging.throughput import ThroughputLimiter
from dispatcher_core.messaging.validation import TemplateMessageValidator, validate_recipient, validate_text_body

__all__ = [
    "TEXT_MAX_LENGTH",
    "BodyComponent",
    "BodyComponentBuilder",
    "BreakerState",
    "BulkJob",
    "BulkJobNotFound",
    "BulkProgress",
    "BulkSendTemplate",
    "ButtonComponent",
    "ButtonComponentBuilder",
    "ButtonKind",
    "CircuitBreaker",
    "CircuitOpen",
    "CircuitPermit",
    "Command",
    "CommandBus",
    "Content",
    "CurrencyParameter",
    "DateTimeParameter",
    "ErrorClass",
    "EventDispatcher",
    "FooterComponent",
    "GiveUp",
    "GraphError",
    "HandlerAlreadyRegistered",
    "HandlerNotFound",
    "HeaderComponent",
    "HeaderComponentBuilder",
    "HeaderFormat",
    "InvalidMessage",
    "InvalidTransition",
    "LocationParameter",
    "MessageFailed",
    "MessageSent",
    "MessageStatusChanged",
    "MessagingError",
    "MessagingEvent",
    "OutboundMessage",
    "OutboundStatus",
    "ParameterType",
    "RecipientBackoff",
    "RetryAfter",
    "RetryDecision",
    "RetryPolicy",
    "SendError",
    "SendFailed",
    "SendOutcomeUnknown",
    "SendTemplateMessage",
    "SendTextMessage",
    "TemplateLimits",
    "TemplateMessage",
    "TemplateMessageBuilder",
    "TemplateMessageValidator",
    "TemplateUsed",
    "TemplateValidationError",
    "TextContent",
    "TextParameter",
    "ThroughputLimiter",
    "ValidationIssue",
    "WaitForRecipient",
    "WindowClosed",
    "agent_message",
    "classify",
    "validate_recipient",
    "validate_text_body",
]
