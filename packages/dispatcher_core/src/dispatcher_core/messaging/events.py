"""Events of the sending side (seed phase 2): what happened to an outbound message.

They are emitted through the :class:`~dispatcher_core.messaging.event_dispatcher.EventDispatcher` after the
outbox holds the state they describe. ``reference`` is always our outbox id (the
``biz_opaque_callback_data`` Meta echoes back); ``agent_id`` is the agent to tell, when there is one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from dispatcher_core.messaging.outbound import OutboundStatus

__all__ = ["MessageFailed", "MessageSent", "MessageStatusChanged", "MessagingEvent", "TemplateUsed"]


@dataclass(frozen=True, slots=True)
class MessageSent:
    """Meta accepted the message. ``requested_at`` is when it was queued (an agent's reply time);
    ``reconciled`` is true when we learnt it from a status webhook after the send's answer was lost."""

    reference: str
    to: str
    wamid: str | None
    kind: str
    at: datetime
    requested_at: datetime
    attempts: int
    conversation_id: str | None = None
    agent_id: str | None = None
    template_name: str | None = None
    reconciled: bool = False
    type: Literal["message.sent"] = "message.sent"


@dataclass(frozen=True, slots=True)
class MessageFailed:
    """The message was not sent, or Meta reported it failed. ``reason`` is what to show the agent (e.g.
    "window closed: send a template"); ``error_code`` is the Graph code when there is one."""

    reference: str
    to: str
    reason: str
    at: datetime
    attempts: int
    error_code: int | None = None
    error_title: str | None = None
    conversation_id: str | None = None
    agent_id: str | None = None
    template_name: str | None = None
    type: Literal["message.failed"] = "message.failed"


@dataclass(frozen=True, slots=True)
class TemplateUsed:
    """A template message was accepted by Meta (template statistics)."""

    reference: str
    template_name: str
    language: str
    to: str
    at: datetime
    type: Literal["template.used"] = "template.used"


@dataclass(frozen=True, slots=True)
class MessageStatusChanged:
    """An outbound message moved to ``status`` (from a status webhook, or ``unknown`` after a lost answer).
    ``agent_id`` is the agent who owns the conversation now, to be sent a ``message.status`` frame."""

    reference: str
    status: OutboundStatus
    previous: OutboundStatus
    at: datetime
    wamid: str | None = None
    conversation_id: str | None = None
    agent_id: str | None = None
    error_code: int | None = None
    error_title: str | None = None
    type: Literal["message.status"] = "message.status"


MessagingEvent = MessageSent | MessageFailed | TemplateUsed | MessageStatusChanged
