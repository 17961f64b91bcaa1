"""The WhatsApp Cloud API adapter of the ``MessageSender`` port: one HTTP request per send, no retry.

``POST {WHATSAPP_API_BASE_URL}/{phone-number-id}/messages`` with ``Authorization: Bearer <token>`` and the
JSON of :mod:`.payloads`. The answer is translated at this boundary (``raise ... from exc``), so nothing
above sees an httpx type:

* 2xx with ``messages[0].id``       -> a :class:`SendReceipt` with the wamid;
* an error answer                   -> :class:`SendFailed` (:class:`WindowClosed` for 131047), classified by
  Graph error code (:func:`~dispatcher_core.messaging.error_codes.classify`): NOT sent;
* connection refused, connect/pool timeout -> :class:`SendFailed` with no code, retryable: the request never
  left, so NOT sent;
* read/write timeout, connection dropped, a 2xx without a message id -> :class:`SendOutcomeUnknown`: Meta may
  have the message, so it must not be sent again blindly.

Retries, the circuit breaker and per-recipient back-off are :class:`~.resilient_sender.ResilientSender`'s.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

import httpx

from dispatcher_adapters.whatsapp.payloads import message_body, parse_error
from dispatcher_adapters.whatsapp.settings import WhatsAppSettings
from dispatcher_core.messaging.error_codes import WINDOW_CLOSED_CODE, ErrorClass, GraphError, classify
from dispatcher_core.messaging.errors import SendFailed, SendOutcomeUnknown, WindowClosed
from dispatcher_core.messaging.outbound import OutboundMessage
from dispatcher_core.ports.message_sender import SendReceipt

__all__ = ["CloudApiSender"]

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


class CloudApiSender:
    """Implements :class:`~dispatcher_core.ports.message_sender.MessageSender`.

    Give it an ``httpx.AsyncClient`` you own and close, or build it with :meth:`from_settings`, which owns its
    client: then close the sender (``aclose`` or ``async with``).
    """

    def __init__(
        self, client: httpx.AsyncClient, *, access_token: str, base_url: str, owns_client: bool = False
    ) -> None:
        self._client = client
        self._headers = {"Authorization": f"Bearer {access_token}"}
        self._base_url = base_url.rstrip("/")
        self._owns_client = owns_client

    @classmethod
    def from_settings(
        cls, settings: WhatsAppSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> CloudApiSender:
        timeout = httpx.Timeout(settings.request_timeout.total_seconds())
        client = httpx.AsyncClient(timeout=timeout, transport=transport)
        return cls(client, access_token=settings.access_token, base_url=settings.api_base_url, owns_client=True)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def url_for(self, business_number_id: str) -> str:
        return f"{self._base_url}/{business_number_id}/messages"

    async def send(self, message: OutboundMessage) -> SendReceipt:
        try:
            response = await self._client.post(
                self.url_for(message.business_number_id), json=message_body(message), headers=self._headers
            )
        except _NOT_SENT as exc:
            error = GraphError(code=None, http_status=None, title=f"request not sent: {type(exc).__name__}")
            raise SendFailed(error, ErrorClass.RETRYABLE) from exc
        except httpx.HTTPError as exc:
            raise SendOutcomeUnknown(f"no answer from the Cloud API: {type(exc).__name__}") from exc
        payload = _json(response)
        if response.is_success:
            wamid = _wamid(payload)
            if wamid is None:
                raise SendOutcomeUnknown(f"HTTP {response.status_code} without a message id")
            return SendReceipt(wamid=wamid)
        error = parse_error(payload, response.status_code)
        error_class = classify(error.code, error.http_status)
        if error.code == WINDOW_CLOSED_CODE:
            raise WindowClosed(error, error_class)
        raise SendFailed(error, error_class)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _wamid(payload: Any) -> str | None:
    messages = payload.get("messages") if isinstance(payload, dict) else None
    if isinstance(messages, list) and messages and isinstance(messages[0], dict):
        wamid = messages[0].get("id")
        if isinstance(wamid, str) and wamid:
            return wamid
    return None
