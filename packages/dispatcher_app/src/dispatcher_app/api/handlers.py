"""The ``/api/v1`` operations: what each reads or changes, declared with its models (:data:`OPERATIONS`).

No business logic: reads go through the store's ports and the orchestrator's queries, as the admin routes
(``controllers/admin.py``) do; API keys through the ``ApiKeyRepository`` port.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import TypeAdapter

from dispatcher_app.api.framework import ApiError, Call, Operation
from dispatcher_app.api.models import (
    Agent,
    AgentList,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyList,
    ApiKeyOut,
    ConversationDetail,
    ConversationList,
    ConversationOut,
    ConversationQuery,
    MessageOut,
    Pagination,
    PendingOut,
    Statistics,
    StatisticsQuery,
    Template,
    TemplateList,
)
from dispatcher_app.stats import collect_stats
from dispatcher_core import Conversation, ConversationStatus
from dispatcher_core.entities.api_key import ApiKey, ApiKeyScope, new_api_key
from dispatcher_core.ports import ApiKeyRepository

__all__ = ["OPERATIONS"]

_templates = TypeAdapter(list[Template])


def _conversation(conversation: Conversation) -> dict[str, Any]:
    return {
        "id": conversation.id,
        "business_number_id": conversation.business_number_id,
        "customer_id": conversation.customer_id,
        "customer_name": conversation.customer_name,
        "status": conversation.status.value,
        "agent_id": conversation.agent_id,
        "opened_at": conversation.opened_at,
        "last_activity_at": conversation.last_activity_at,
        "assigned_at": conversation.assigned_at,
        "pending_since": conversation.pending_since,
        "oldest_unanswered_at": conversation.oldest_unanswered_at,
        "closed_at": conversation.closed_at,
        "close_reason": conversation.close_reason,
    }


async def list_conversations(call: Call[ConversationQuery, Any]) -> ConversationList:
    query = call.query
    async with call.runtime.uow_factory() as uow:
        if query.status == "pending":
            if query.agent_id is not None:
                raise ApiError(400, "invalid_request", "a pending conversation has no agent: drop agent_id or status")
            found = list(await uow.conversations.list_pending())[query.offset : query.offset + query.limit + 1]
        else:
            status = None if query.status is None else ConversationStatus(query.status)
            found = list(
                await uow.conversations.list(
                    status=status, agent_id=query.agent_id, limit=query.limit + 1, offset=query.offset
                )
            )
    more = len(found) > query.limit
    return ConversationList(
        data=[ConversationOut.model_validate(_conversation(c)) for c in found[: query.limit]],
        pagination=Pagination(
            limit=query.limit, offset=query.offset, next_offset=query.offset + query.limit if more else None
        ),
    )


async def get_conversation(call: Call[Any, Any]) -> ConversationDetail:
    conversation_id = call.path["conversation_id"]
    async with call.runtime.uow_factory() as uow:
        conversation = await uow.conversations.get(conversation_id)
        if conversation is None:
            raise ApiError(404, "not_found", f"no conversation {conversation_id!r}")
        messages = await uow.conversations.get_messages(conversation_id)
        pending = await uow.pending.list(conversation_id)
    return ConversationDetail.model_validate(
        {
            **_conversation(conversation),
            "messages": [
                MessageOut(
                    id=m.id,
                    external_id=m.external_id,
                    direction=m.direction.value,
                    kind=m.kind,
                    text=m.text,
                    received_at=m.received_at,
                    sent_at=m.sent_at,
                    delivered_to=m.delivered_to,
                )
                for m in messages
            ],
            "pending": [PendingOut(id=p.id, message_id=p.message_id, enqueued_at=p.enqueued_at) for p in pending],
        }
    )


async def list_agents(call: Call[Any, Any]) -> AgentList:
    runtime = call.runtime
    entries = await runtime.orchestrator.queries.queue()
    return AgentList(
        data=[
            Agent(
                agent_id=entry.agent_id,
                position=entry.position,
                status=entry.status.value,
                connections=entry.connections,
                active_conversations=entry.active_conversations,
                capacity=entry.capacity or None,
            )
            for entry in entries
        ],
        capacity=runtime.config.dispatcher.agent_capacity or None,
    )


async def list_templates(call: Call[Any, Any]) -> TemplateList:
    sending = call.runtime.sending
    source = sending.templates if sending is not None else None
    if source is None:
        return TemplateList(configured=False, data=[])
    return TemplateList(configured=True, data=_templates.validate_python(await source()))


async def statistics(call: Call[StatisticsQuery, Any]) -> Statistics:
    runtime = call.runtime
    # the range is [from, to): by default up to now included
    end = call.query.to or runtime.clock.now() + timedelta(microseconds=1)
    start = call.query.from_ or end - timedelta(days=1)
    if end.tzinfo is None or start.tzinfo is None:
        raise ApiError(400, "invalid_request", "from and to must include a time zone (e.g. 2026-01-01T00:00:00Z)")
    if end <= start:
        raise ApiError(400, "invalid_request", "from must be before to")
    return Statistics(await collect_stats(runtime, start, end))


def _keys(call: Call[Any, Any]) -> ApiKeyRepository:
    if call.runtime.api_keys is None:
        raise ApiError(404, "not_found", "API keys are not kept by this runtime")
    return call.runtime.api_keys


def _key_out(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "scope": key.scope.value,
        "hint": key.hint,
        "created_at": key.created_at,
        "revoked_at": key.revoked_at,
        "active": key.active,
    }


async def list_api_keys(call: Call[Any, Any]) -> ApiKeyList:
    return ApiKeyList(data=[ApiKeyOut.model_validate(_key_out(key)) for key in await _keys(call).list()])


async def create_api_key(call: Call[Any, ApiKeyCreate]) -> ApiKeyCreated:
    secret, key = new_api_key(call.body.name, ApiKeyScope(call.body.scope), call.runtime.clock.now())
    if not await _keys(call).add(key):  # 256 random bits: a clash means a broken random source
        raise ApiError(409, "conflict", "an API key with this id or hash exists; try again")
    return ApiKeyCreated.model_validate({**_key_out(key), "key": secret})


async def get_api_key(call: Call[Any, Any]) -> ApiKeyOut:
    key = await _keys(call).get(call.path["key_id"])
    if key is None:
        raise ApiError(404, "not_found", f"no API key {call.path['key_id']!r}")
    return ApiKeyOut.model_validate(_key_out(key))


async def revoke_api_key(call: Call[Any, Any]) -> ApiKeyOut:
    key = await _keys(call).revoke(call.path["key_id"], call.runtime.clock.now())
    if key is None:
        raise ApiError(404, "not_found", f"no API key {call.path['key_id']!r}")
    return ApiKeyOut.model_validate(_key_out(key))


READ, ADMIN = ApiKeyScope.READ, ApiKeyScope.ADMIN
V1 = "/api/v1"

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET",
        f"{V1}/conversations",
        "listConversations",
        "Conversations, newest first, filtered by status and agent",
        READ,
        list_conversations,
        ConversationList,
        query=ConversationQuery,
        errors=(400,),
        tag="conversations",
    ),
    Operation(
        "GET",
        f"{V1}/conversations/{{conversation_id}}",
        "getConversation",
        "One conversation with its whole history and its pending messages",
        READ,
        get_conversation,
        ConversationDetail,
        errors=(404,),
        tag="conversations",
    ),
    Operation(
        "GET",
        f"{V1}/agents",
        "listAgents",
        "Agents head of the queue first, with presence, load and capacity",
        READ,
        list_agents,
        AgentList,
        tag="agents",
    ),
    Operation(
        "GET",
        f"{V1}/templates",
        "listTemplates",
        "The approved-template catalogue as last synced",
        READ,
        list_templates,
        TemplateList,
        tag="templates",
    ),
    Operation(
        "GET",
        f"{V1}/statistics",
        "getStatistics",
        "Message, template and assignment statistics over [from, to)",
        READ,
        statistics,
        Statistics,
        query=StatisticsQuery,
        errors=(400,),
        tag="statistics",
    ),
    Operation(
        "GET",
        f"{V1}/api-keys",
        "listApiKeys",
        "Every API key, revoked ones included, oldest first (never the keys themselves)",
        ADMIN,
        list_api_keys,
        ApiKeyList,
        tag="api-keys",
    ),
    Operation(
        "POST",
        f"{V1}/api-keys",
        "createApiKey",
        "Create an API key; the key is in this response only",
        ADMIN,
        create_api_key,
        ApiKeyCreated,
        status=201,
        body=ApiKeyCreate,
        errors=(400, 409, 413),
        tag="api-keys",
    ),
    Operation(
        "GET",
        f"{V1}/api-keys/{{key_id}}",
        "getApiKey",
        "One API key (never the key itself)",
        ADMIN,
        get_api_key,
        ApiKeyOut,
        errors=(404,),
        tag="api-keys",
    ),
    Operation(
        "POST",
        f"{V1}/api-keys/{{key_id}}/revoke",
        "revokeApiKey",
        "Revoke an API key at once (idempotent: a revoked key keeps its first revocation time)",
        ADMIN,
        revoke_api_key,
        ApiKeyOut,
        errors=(404,),
        tag="api-keys",
    ),
)
