"""Sending one outbound message to WhatsApp (docs/whatsapp-sender.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from dispatcher_core.messaging.outbound import OutboundMessage

__all__ = ["MessageSender", "SendReceipt"]


@dataclass(frozen=True, slots=True)
class SendReceipt:
    """Meta accepted the message: ``wamid`` is its WhatsApp message id; ``attempts`` how many requests it
    took."""

    wamid: str
    attempts: int = 1


class MessageSender(Protocol):
    async def send(self, message: OutboundMessage) -> SendReceipt:
        """Send ``message`` from ``message.business_number_id`` to ``message.to``, carrying ``message.id`` as
        the callback reference (``biz_opaque_callback_data``) so status webhooks can be matched to it.

        One logical send. An implementation may make several requests for it, but only after the previous
        ones were certainly not accepted; it never repeats a request whose outcome is unknown. Raises:

        * :class:`~dispatcher_core.messaging.errors.SendFailed` (``WindowClosed`` for 131047): NOT sent;
          ``error`` holds the Graph code and HTTP status, ``error_class`` whether retrying may help;
        * :class:`~dispatcher_core.messaging.errors.SendOutcomeUnknown`: may have been sent (timeout while
          waiting for the answer, connection lost, unreadable success); must not be sent again blindly;
        * :class:`~dispatcher_core.messaging.errors.CircuitOpen`: refused without a request: NOT sent.

        Safe to call concurrently. Never persists anything: the outbox is the caller's.
        """
        ...
