"""``GET /media/{media_id}``: a customer's media (image, voice note, document...) for the agent who has the
conversation, streamed from Graph without ever showing Graph's access token (``docs/api.md``).

Who may download: an agent, with its JWT (``Authorization: Bearer <jwt>`` or ``?token=<jwt>`` for an
``<img src>``), when the message that carried the media is in an *open* conversation assigned to it; an admin,
with ``Authorization: Bearer <DISPATCHER_ADMIN_TOKEN>``, any recorded media. Anything else is 404 (the same
answer as an unknown id, so an agent cannot probe other conversations' media), a missing or bad token 401.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from dispatcher_adapters.whatsapp.media import MediaUnavailable
from dispatcher_app.auth import AgentTokenError, bearer_token_matches, verify_agent_token
from dispatcher_app.runtime import Runtime, RuntimeHolder
from dispatcher_core.messaging.media import InboundMedia

__all__ = ["media_routes"]

_log = logging.getLogger(__name__)
_NOT_FOUND = "no such media in your conversations"


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class MediaRoute:
    def __init__(self, holder: RuntimeHolder) -> None:
        self._holder = holder

    async def download(self, request: Request) -> Response:
        runtime = self._holder.get()
        authorization = request.headers.get("authorization")
        admin = bearer_token_matches(authorization, runtime.config.admin_token)
        agent_id: str | None = None
        if not admin:
            scheme, _, bearer = (authorization or "").partition(" ")
            token = bearer.strip() if scheme.lower() == "bearer" else request.query_params.get("token")
            try:
                agent_id = verify_agent_token(runtime.config.agent_token_secret, token)
            except AgentTokenError:
                return JSONResponse(
                    {"error": "agent token (or admin token) required: Authorization: Bearer <token>"},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
        access = runtime.sending.media if runtime.sending is not None else None
        if access is None:
            return _error(404, "media downloads need WhatsApp sending configured")
        media = await access.find(request.path_params["media_id"])
        if media is None or (agent_id is not None and not await _is_in_conversation_of(runtime, media, agent_id)):
            return _error(404, _NOT_FOUND)
        try:
            stream = await access.open(media.media_id)
        except MediaUnavailable as exc:
            _log.warning("media %s not served: %s", media.media_id, exc)
            return _error(exc.status, "the media is no longer available" if exc.status == 404 else str(exc))
        headers = {"Cache-Control": "private, max-age=240", "X-Content-Type-Options": "nosniff"}
        if stream.size is not None:
            headers["Content-Length"] = str(stream.size)
        if media.filename:
            headers["Content-Disposition"] = _disposition(media.filename)
        return StreamingResponse(stream.chunks(), media_type=stream.mime_type, headers=headers)


async def _is_in_conversation_of(runtime: Runtime, media: InboundMedia, agent_id: str) -> bool:
    """Whether the message that carried ``media`` is in the open conversation of its customer, assigned to
    ``agent_id``."""
    async with runtime.uow_factory() as uow:
        conversation = await uow.conversations.get_open_by_key(media.business_number_id, media.customer_id)
        if conversation is None or conversation.agent_id != agent_id:
            return False
        messages = await uow.conversations.get_messages(conversation.id)
    return any(message.external_id == media.external_id for message in messages)


def _disposition(filename: str) -> str:
    """``inline`` with the customer's file name, percent-encoded (RFC 6266), so no header can be injected."""
    return f"inline; filename*=UTF-8''{quote(filename, safe='')}"


def media_routes(holder: RuntimeHolder) -> list[Route]:
    return [Route("/media/{media_id}", MediaRoute(holder).download, methods=["GET"])]
