"""Admin routes (seed: ``dispatcher.controller.ts``): force a distribution, read the queue and the state.

No business logic here (seed §4.8): reads go through the store's ports, the one action goes through the
orchestrator. Every route requires ``Authorization: Bearer <DISPATCHER_ADMIN_TOKEN>``; a missing or wrong
token gets 401 and nothing is read or changed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dispatcher_app.auth import bearer_token_matches
from dispatcher_app.runtime import RuntimeHolder
from dispatcher_app.serialization import conversation_payload, converter
from dispatcher_app.stats import collect_stats
from dispatcher_core import ConversationStatus

__all__ = ["admin_routes"]

Endpoint = Callable[[Request], Awaitable[Response]]
_MAX_LIMIT = 500


class BadRequest(Exception):
    pass


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise BadRequest(f"{name} must be an integer between {low} and {high}")
    return int(raw)


class AdminController:
    def __init__(self, holder: RuntimeHolder) -> None:
        self._holder = holder

    def guarded(self, endpoint: Endpoint) -> Endpoint:
        async def guard(request: Request) -> Response:
            runtime = self._holder.get()
            if not bearer_token_matches(request.headers.get("authorization"), runtime.config.admin_token):
                return JSONResponse(
                    {"error": "admin token required: Authorization: Bearer <DISPATCHER_ADMIN_TOKEN>"},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
            try:
                return await endpoint(request)
            except BadRequest as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)

        return guard

    async def queue(self, request: Request) -> Response:
        """Agents head first with their position, then agents out of the queue who still hold work."""
        runtime = self._holder.get()
        capacity = runtime.config.dispatcher.agent_capacity
        agents = [
            {
                "agent_id": entry.agent_id,
                "position": entry.position,
                "status": entry.status.value,
                "connections": entry.connections,
                "active_conversations": entry.active_conversations,
                "capacity": entry.capacity or None,
            }
            for entry in await runtime.orchestrator.queries.queue()
        ]
        return JSONResponse({"agents": agents, "capacity": capacity or None})

    async def distribute(self, request: Request) -> Response:
        result = await self._holder.get().orchestrator.distribute_pending_messages()
        return JSONResponse({"assigned": result.assigned, "still_pending": result.still_pending})

    async def pending(self, request: Request) -> Response:
        """Pending conversations, oldest first, with how many messages each has waiting."""
        queries = self._holder.get().orchestrator.queries
        waiting = await queries.pending()
        return JSONResponse(
            {
                "conversations": [
                    {**conversation_payload(item.conversation), "pending_messages": item.pending_messages}
                    for item in waiting
                ],
                "pending_messages": await queries.pending_messages(),
            }
        )

    async def conversations(self, request: Request) -> Response:
        status_param = request.query_params.get("status") or None
        agent_id = request.query_params.get("agent_id") or None
        limit = _int_param(request, "limit", 100, 1, _MAX_LIMIT)
        offset = _int_param(request, "offset", 0, 0, 10**9)
        async with self._holder.get().uow_factory() as uow:
            if status_param == "pending":
                if agent_id is not None:
                    raise BadRequest("a pending conversation has no agent: drop agent_id or the status")
                found = list(await uow.conversations.list_pending())[offset : offset + limit]
            else:
                try:
                    status = None if status_param is None else ConversationStatus(status_param)
                except ValueError:
                    raise BadRequest("status must be open, closed or pending") from None
                found = list(await uow.conversations.list(status=status, agent_id=agent_id, limit=limit, offset=offset))
        return JSONResponse(
            {"conversations": [conversation_payload(c) for c in found], "limit": limit, "offset": offset}
        )

    async def conversation(self, request: Request) -> Response:
        conversation_id = request.path_params["conversation_id"]
        async with self._holder.get().uow_factory() as uow:
            conversation = await uow.conversations.get(conversation_id)
            if conversation is None:
                return JSONResponse({"error": f"no conversation {conversation_id!r}"}, status_code=404)
            messages = await uow.conversations.get_messages(conversation_id)
            pending = await uow.pending.list(conversation_id)
            outbound = await uow.outbox.list_by_conversation(conversation_id)
        return JSONResponse(
            {
                **conversation_payload(conversation, messages, outbound),
                "pending": converter.unstructure(list(pending)),
            }
        )

    async def stats(self, request: Request) -> Response:
        """``?from=&to=`` (ISO 8601 with a time zone) bound the sender's sections; default: the last 24 hours."""
        runtime = self._holder.get()
        # the range is [from, to): by default up to now included
        end = _instant(request.query_params.get("to"), "to") or runtime.clock.now() + timedelta(microseconds=1)
        start = _instant(request.query_params.get("from"), "from") or end - timedelta(days=1)
        if end <= start:
            raise BadRequest("from must be before to")
        return JSONResponse(await collect_stats(runtime, start, end))

    async def templates(self, request: Request) -> Response:
        """The approved-template catalogue as last synced (empty and ``configured: false`` without one)."""
        runtime = self._holder.get()
        source = runtime.sending.templates if runtime.sending is not None else None
        if source is None:
            return JSONResponse({"configured": False, "templates": []})
        return JSONResponse({"configured": True, "templates": await source()})


def _instant(raw: str | None, name: str) -> datetime | None:
    if raw is None or not raw.strip():
        return None
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise BadRequest(f"{name} must be an ISO 8601 date-time, got {raw!r}") from None
    if value.tzinfo is None:
        raise BadRequest(f"{name} must include a time zone (e.g. 2026-01-01T00:00:00+00:00)")
    return value


def admin_routes(holder: RuntimeHolder) -> list[Route]:
    controller = AdminController(holder)
    guarded = controller.guarded
    return [
        Route("/admin/queue", guarded(controller.queue), methods=["GET"]),
        Route("/admin/distribute", guarded(controller.distribute), methods=["POST"]),
        Route("/admin/pending", guarded(controller.pending), methods=["GET"]),
        Route("/admin/conversations", guarded(controller.conversations), methods=["GET"]),
        Route("/admin/conversations/{conversation_id}", guarded(controller.conversation), methods=["GET"]),
        Route("/admin/stats", guarded(controller.stats), methods=["GET"]),
        Route("/admin/templates", guarded(controller.templates), methods=["GET"]),
    ]
