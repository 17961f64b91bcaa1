"""``GET`` and ``POST /webhooks/whatsapp`` (docs/api.md).

The POST answers only after every message of the body is stored (I2: a 2xx means nothing is lost), so Meta
retries - for days - whatever we could not store. Order of checks, each failing fast and storing nothing:
size (413), signature over the raw bytes (401), JSON (400). Then every entry, change, message and status is
processed, each message on its own: a duplicate message id is acknowledged and counted, an unknown shape is
acknowledged and counted, a message that cannot be stored as it is (invalid Unicode, a NUL character, an
over-long id, name or text) or that the database refuses is rejected alone and counted in ``invalid`` - never
a 5xx, and its neighbours are stored. A store that cannot be reached answers 503 so Meta sends the body again
(the messages already stored then count as duplicates).

Overload: an instance works on at most ``DISPATCHER_MAX_IN_FLIGHT_WEBHOOKS`` POSTs at once; one more is
answered 503 with ``Retry-After`` before its body is read, storing nothing (Meta resends it). Queueing it
instead would only turn an overload into seconds of latency for every request, past Meta's own timeout, and
Meta's retries would then add load exactly when there is too much.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from dispatcher_app.auth import token_matches
from dispatcher_app.runtime import Runtime, RuntimeHolder
from dispatcher_app.webhooks.parser import ParsedBatch, parse_webhook
from dispatcher_app.webhooks.signature import SIGNATURE_HEADER, signature_matches
from dispatcher_core import IncomingMessage
from dispatcher_core.errors import InvalidInput, RetriesExhausted, StoreError, StoreUnavailable

__all__ = ["WebhookCounts", "WhatsAppWebhook"]

_log = logging.getLogger(__name__)


class _TooLarge(Exception):
    pass


@dataclass(slots=True)
class WebhookCounts:
    """What the 200 answer reports: messages stored, duplicates ignored, refused messages (``invalid``),
    statuses handled, errors Meta reported, items of unknown shape."""

    accepted: int = 0
    duplicates: int = 0
    invalid: int = 0
    statuses: int = 0
    errors: int = 0
    unknown: int = 0

    def as_json(self) -> dict[str, int]:
        """The answer's body (``dataclasses.asdict`` deep-copies and is slow on this hot path)."""
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "invalid": self.invalid,
            "statuses": self.statuses,
            "errors": self.errors,
            "unknown": self.unknown,
        }


#: Seconds Meta (or any client) is asked to wait before resending a shed request.
RETRY_AFTER_SECONDS = 1


class WhatsAppWebhook:
    def __init__(self, holder: RuntimeHolder) -> None:
        self._holder = holder
        self._in_flight = 0  # this instance's POSTs being handled (one event loop: no lock needed)

    async def verify(self, request: Request) -> Response:
        """Meta's subscription handshake: echo ``hub.challenge`` when ``hub.verify_token`` is ours."""
        runtime = self._holder.get()
        params = request.query_params
        challenge = params.get("hub.challenge")
        if (
            params.get("hub.mode") == "subscribe"
            and challenge
            and token_matches(params.get("hub.verify_token"), runtime.config.whatsapp_verify_token)
        ):
            return PlainTextResponse(challenge)
        return PlainTextResponse("verification failed", status_code=403)

    async def receive(self, request: Request) -> Response:
        runtime = self._holder.get()
        most = runtime.config.max_in_flight_webhooks
        if most and self._in_flight >= most:
            runtime.metrics.webhooks_shed.inc()
            return JSONResponse(
                {"error": f"overloaded: {most} webhook requests in progress, retry later"},
                status_code=503,
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        self._in_flight += 1
        runtime.metrics.webhooks_in_flight.inc()
        try:
            return await self._receive(runtime, request)
        finally:
            self._in_flight -= 1
            runtime.metrics.webhooks_in_flight.dec()

    async def _receive(self, runtime: Runtime, request: Request) -> Response:
        limit = runtime.config.webhook_max_bytes
        try:
            body = await _read_body(request, limit)
        except _TooLarge:
            return _error(413, f"body larger than {limit} bytes")
        except ClientDisconnect:  # gone before the body was complete (or cut by the body timeout): nothing to do
            return _error(400, "client disconnected before the body was complete")
        if not signature_matches(body, request.headers.get(SIGNATURE_HEADER), runtime.config.whatsapp_app_secret):
            return _error(401, f"missing or invalid {SIGNATURE_HEADER}")
        try:
            decoded = json.loads(body)
        except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            return _error(400, "body is not JSON")
        await _sending_hook(runtime, decoded)
        return await _process(runtime, parse_webhook(decoded))


async def _sending_hook(runtime: Runtime, decoded: object) -> None:
    """The sender's look at the body (template status updates): informative, so a failure is logged and the
    webhook is still processed."""
    hook = runtime.sending.on_webhook if runtime.sending is not None else None
    if hook is None:
        return
    try:
        await hook(decoded)
    except Exception:
        _log.exception("the WhatsApp sender's webhook hook failed")


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _TooLarge
    return bytes(body)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _process(runtime: Runtime, batch: ParsedBatch) -> Response:
    """Every message on its own (I10): a valid one is stored whatever its neighbours are, an invalid one is
    rejected alone. 200 when each message is stored, a duplicate or permanently rejected; 503 when the store
    could not be reached for one of them (Meta resends the body: what was stored is then a duplicate)."""
    counts = WebhookCounts(errors=len(batch.errors), unknown=batch.unknown, invalid=len(batch.rejected))
    items = runtime.metrics.webhook_items
    for error in batch.errors:
        _log.warning("WhatsApp reported error %s: %r (%r)", error.code, error.title, error.details)
    if counts.errors:
        items.labels("error", "reported").inc(counts.errors)
    if counts.unknown:
        items.labels("unknown", "ignored").inc(counts.unknown)
    for rejected in batch.rejected:
        items.labels("message", "invalid").inc()
        _log.warning("rejected webhook message %r: %s", rejected.external_id, rejected.reason)
    not_stored = _NotStored()
    for message in batch.messages:
        if not_stored.unavailable:  # the store is down: the rest would wait for it too; Meta's resend brings them
            not_stored.count += 1
            continue
        await _store(runtime, message, counts, not_stored)
    await _handle_statuses(runtime, batch, counts)
    if not_stored.failed:
        body = {"error": "internal error", "not_stored": not_stored.count, **counts.as_json()}
        return JSONResponse(body, status_code=500)
    if not_stored.count:
        body = {"error": "store unavailable, retry later", "not_stored": not_stored.count, **counts.as_json()}
        return JSONResponse(body, status_code=503)
    return JSONResponse(counts.as_json())


@dataclass(slots=True)
class _NotStored:
    """Messages of the body neither stored nor permanently rejected: the answer must make Meta resend it."""

    count: int = 0
    unavailable: bool = False  # the store could not be reached
    failed: bool = False  # an unexpected error (a bug)


async def _store(runtime: Runtime, message: IncomingMessage, counts: WebhookCounts, not_stored: _NotStored) -> None:
    metrics = runtime.metrics
    items = metrics.webhook_items
    try:
        outcome = await runtime.orchestrator.handle_incoming_message(message)
    except InvalidInput as exc:  # the store refused the data itself: permanent, this message alone
        counts.invalid += 1
        items.labels("message", "invalid").inc()
        _log.warning("rejected webhook message %r: %s", message.external_id, exc)
        return
    except StoreUnavailable:
        not_stored.count += 1
        not_stored.unavailable = True
        items.labels("message", "unavailable").inc()
        _log.warning("store unavailable while storing webhook message %r", message.external_id, exc_info=True)
        return
    except (StoreError, RetriesExhausted):  # contention, not an outage: the other messages may well succeed
        not_stored.count += 1
        items.labels("message", "unavailable").inc()
        _log.warning("could not store webhook message %r, Meta will resend it", message.external_id, exc_info=True)
        return
    except Exception:  # a bug: logged with the message id, the other messages still handled
        not_stored.count += 1
        not_stored.failed = True
        items.labels("message", "failed").inc()
        _log.exception("failed to store webhook message %r", message.external_id)
        return
    if outcome.duplicate or outcome.decision is None:
        counts.duplicates += 1
        metrics.messages_duplicate.inc()
    else:
        counts.accepted += 1
        metrics.messages_accepted.inc()
        if runtime.sending is not None:
            runtime.sending.record_inbound()
        metrics.count_decision(outcome.decision)


async def _handle_statuses(runtime: Runtime, batch: ParsedBatch, counts: WebhookCounts) -> None:
    metrics = runtime.metrics
    for status in batch.statuses:
        try:
            await runtime.status_handler.handle_status(status)
        except Exception:  # statuses are informative: a failing hook must not make Meta resend messages
            metrics.webhook_items.labels("status", "failed").inc()
            _log.exception("status handler failed for %r", status.message_id)
            continue
        counts.statuses += 1
        metrics.statuses_handled.inc()
