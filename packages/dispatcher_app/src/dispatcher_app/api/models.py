"""The request and response bodies of ``/api/v1``, as pydantic models.

These types are the contract: requests are validated with them and ``/openapi.json`` is generated from their
JSON schemas (:mod:`dispatcher_app.api.openapi`), so the document cannot drift from what the routes do.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

__all__ = [
    "Agent",
    "AgentList",
    "ApiKeyCreate",
    "ApiKeyCreated",
    "ApiKeyList",
    "ApiKeyOut",
    "ConversationDetail",
    "ConversationList",
    "ConversationOut",
    "ConversationQuery",
    "ErrorBody",
    "ErrorDetail",
    "MessageOut",
    "Pagination",
    "PendingOut",
    "Statistics",
    "StatisticsQuery",
    "Template",
    "TemplateButton",
    "TemplateList",
]

Scope = Literal["read", "send", "admin"]


class _Strict(BaseModel):
    """Requests: unknown fields are refused (a typo is an error, not silently ignored)."""

    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable, machine-readable: invalid_request, unauthorized, forbidden, not_found...")
    message: str = Field(description="For people; may change between versions.")
    details: list[dict[str, Any]] | None = Field(
        default=None, description="For invalid_request: one entry per problem, with its location (`loc`)."
    )


class ErrorBody(BaseModel):
    """Every 4xx and 5xx answer of ``/api/v1`` has this body."""

    error: ErrorDetail


class Pagination(BaseModel):
    limit: int
    offset: int
    next_offset: int | None = Field(description="The offset of the next page; null on the last page.")


class ConversationQuery(_Strict):
    status: Literal["open", "closed", "pending"] | None = Field(
        default=None, description="pending: open with no agent (cannot be combined with agent_id)."
    )
    agent_id: str | None = Field(default=None, min_length=1, max_length=200)
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=1_000_000_000)


class ConversationOut(BaseModel):
    id: str
    business_number_id: str
    customer_id: str
    customer_name: str | None
    status: Literal["open", "closed"]
    agent_id: str | None
    opened_at: datetime
    last_activity_at: datetime
    assigned_at: datetime | None
    pending_since: datetime | None
    oldest_unanswered_at: datetime | None
    closed_at: datetime | None
    close_reason: str | None


class ConversationList(BaseModel):
    data: list[ConversationOut]
    pagination: Pagination


class MessageOut(BaseModel):
    id: str
    external_id: str
    direction: Literal["in", "out"]
    kind: str
    text: str | None
    received_at: datetime
    sent_at: datetime | None
    delivered_to: str | None = Field(description="The agent it was delivered to; null while pending.")


class PendingOut(BaseModel):
    id: str
    message_id: str
    enqueued_at: datetime


class ConversationDetail(ConversationOut):
    messages: list[MessageOut] = Field(description="The whole history, oldest first.")
    pending: list[PendingOut] = Field(description="Messages waiting for an agent, in arrival order.")


class Agent(BaseModel):
    agent_id: str
    position: int | None = Field(description="0 = next in the round-robin; null when out of the queue.")
    status: Literal["online", "grace", "offline"] = Field(
        description="grace: the last socket closed, the agent keeps its conversations a short while."
    )
    connections: int
    active_conversations: int
    capacity: int | None = Field(description="Most conversations at once; null = unlimited.")


class AgentList(BaseModel):
    data: list[Agent]
    capacity: int | None = Field(description="The default capacity per agent; null = unlimited.")


class TemplateButton(BaseModel):
    kind: str | None
    text: str | None


class Template(BaseModel):
    name: str
    language: str
    status: str
    category: str | None
    parameter_format: str
    header: str | None
    body: str | None
    buttons: list[TemplateButton]
    updated_at: datetime


class TemplateList(BaseModel):
    configured: bool = Field(description="false when no catalogue is kept (WHATSAPP_BUSINESS_ACCOUNT_ID unset).")
    data: list[Template]


class StatisticsQuery(_Strict):
    from_: datetime | None = Field(default=None, alias="from", description="Default: `to` minus 24 hours.")
    to: datetime | None = Field(default=None, description="Default: now.")


class Statistics(RootModel[dict[str, Any]]):
    """Sections as ``GET /admin/stats`` (conversations, messages, assignments, queue, whatsapp...)."""


class ApiKeyCreate(_Strict):
    name: str = Field(min_length=1, max_length=200, description="Who uses the key, for people.")
    scope: Scope = Field(description="read < send < admin: each scope may do what the ones before may.")


class ApiKeyOut(BaseModel):
    id: str
    name: str
    scope: Scope
    hint: str = Field(description="The key's first characters, to tell keys apart; not a credential.")
    created_at: datetime
    revoked_at: datetime | None
    active: bool


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The API key. Shown this once: only its hash is stored.")


class ApiKeyList(BaseModel):
    data: list[ApiKeyOut]
