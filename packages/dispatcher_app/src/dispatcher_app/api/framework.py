"""How an ``/api/v1`` operation is declared once and served and documented from that one declaration.

An :class:`Operation` names its method, path, the scope it needs, and the pydantic models of its query, body
and response. :func:`endpoint` turns it into a Starlette endpoint that authenticates (the admin token, or an
API key with enough scope), validates the query and the body with those models, and answers JSON with the
response model; :mod:`dispatcher_app.api.openapi` reads the same declarations to write ``/openapi.json``.
Every failure answers with :class:`~dispatcher_app.api.models.ErrorBody`.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dispatcher_app.api.models import ErrorBody, ErrorDetail
from dispatcher_app.runtime import NotStarted, Runtime, RuntimeHolder
from dispatcher_core.entities.api_key import ApiKeyScope, hash_api_key
from dispatcher_core.errors import InvalidInput, RetriesExhausted, StoreError

__all__ = ["ApiError", "Call", "Operation", "Principal", "endpoint", "error_response"]

_log = logging.getLogger(__name__)

Q = TypeVar("Q", bound=BaseModel)
B = TypeVar("B", bound=BaseModel)

#: The most a request body may weigh (the API's bodies are small documents).
MAX_BODY_BYTES = 64 * 1024


class ApiError(Exception):
    """An answer other than success: ``status`` with the error body ``{"error": {code, message, details}}``."""

    def __init__(self, status: int, code: str, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def error_response(error: ApiError) -> Response:
    body = ErrorBody(error=ErrorDetail(code=error.code, message=error.message, details=error.details))
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
    return JSONResponse(body.model_dump(mode="json"), status_code=error.status, headers=headers)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the admin token (``key_id`` None) or an API key."""

    scope: ApiKeyScope
    key_id: str | None = None


@dataclass(frozen=True, slots=True)
class Call(Generic[Q, B]):
    runtime: Runtime
    principal: Principal
    query: Q
    body: B
    path: Mapping[str, str]


class _Empty(BaseModel):
    """No query or no body."""


Handler = Callable[[Call[Any, Any]], Awaitable[BaseModel]]


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str
    operation_id: str
    summary: str
    scope: ApiKeyScope
    handler: Handler
    response: type[BaseModel]
    status: int = 200
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    #: Error statuses this operation may answer besides 401/403/503 (documented in /openapi.json).
    errors: tuple[int, ...] = field(default=())
    tag: str = "api"

    @property
    def path_params(self) -> list[str]:
        return [part[1:-1] for part in self.path.split("/") if part.startswith("{") and part.endswith("}")]


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


async def authenticate(runtime: Runtime, request: Request, needed: ApiKeyScope) -> Principal:
    token = _bearer(request)
    if token is None:
        raise ApiError(401, "unauthorized", "Authorization: Bearer <admin token or API key> required")
    admin = runtime.config.admin_token
    if admin and hmac.compare_digest(token.encode(), admin.encode()):
        return Principal(ApiKeyScope.ADMIN)
    key = None if runtime.api_keys is None else await runtime.api_keys.find_by_hash(hash_api_key(token))
    if key is None or not key.active:
        raise ApiError(401, "unauthorized", "unknown or revoked API key")
    if not key.scope.allows(needed):
        raise ApiError(403, "forbidden", f"this API key's scope is {key.scope.value!r}; {needed.value!r} needed")
    return Principal(key.scope, key.id)


def _invalid(exc: ValidationError, where: str) -> ApiError:
    details = [
        {"loc": [where, *(str(part) for part in error["loc"])], "message": error["msg"], "type": error["type"]}
        for error in exc.errors(include_url=False, include_input=False)
    ]
    return ApiError(400, "invalid_request", f"the request's {where} is not valid", details)


async def _body(request: Request, model: type[BaseModel] | None) -> BaseModel:
    if model is None:
        return _Empty()
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(413, "too_large", f"the body must be at most {MAX_BODY_BYTES} bytes")
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid_json", "the body must be a JSON document") from None
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise _invalid(exc, "body") from None


def _query(request: Request, model: type[BaseModel] | None) -> BaseModel:
    if model is None:
        return _Empty()
    params = request.query_params
    repeated = sorted({name for name in params if len(params.getlist(name)) > 1})
    if repeated:
        raise ApiError(400, "invalid_request", f"query parameters given more than once: {', '.join(repeated)}")
    try:
        return model.model_validate(dict(params))
    except ValidationError as exc:
        raise _invalid(exc, "query") from None


def endpoint(holder: RuntimeHolder, operation: Operation) -> Callable[[Request], Awaitable[Response]]:
    async def serve(request: Request) -> Response:
        try:
            runtime = holder.get()
            principal = await authenticate(runtime, request, operation.scope)
            call: Call[Any, Any] = Call(
                runtime=runtime,
                principal=principal,
                query=_query(request, operation.query),
                body=await _body(request, operation.body),
                path=dict(request.path_params),
            )
            result = await operation.handler(call)
        except ApiError as exc:
            return error_response(exc)
        except InvalidInput as exc:  # a value the models let through and the core refuses
            return error_response(ApiError(400, "invalid_request", str(exc)))
        except NotStarted:
            return error_response(ApiError(503, "not_started", "the dispatcher is not started"))
        except (StoreError, RetriesExhausted) as exc:
            _log.warning("store unavailable during %s %s: %s", request.method, request.url.path, exc)
            return error_response(ApiError(503, "store_unavailable", "store unavailable, retry later"))
        return JSONResponse(result.model_dump(mode="json", by_alias=True), status_code=operation.status)

    return serve
