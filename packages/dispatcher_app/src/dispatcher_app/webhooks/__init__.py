"""The WhatsApp webhook: signature check, payload parser, route."""

from dispatcher_app.webhooks.parser import ParsedBatch, StatusUpdate, WhatsAppError, parse_webhook
from dispatcher_app.webhooks.signature import SIGNATURE_HEADER, sign, signature_matches

__all__ = [
    "SIGNATURE_HEADER",
    "ParsedBatch",
    "StatusUpdate",
    "WhatsAppError",
    "parse_webhook",
    "sign",
    "signature_matches",
]
