"""``/openapi.json``: the OpenAPI 3.1 document, generated from the operations' declarations and the JSON
schemas pydantic derives from their models (the same models that validate requests), never kept by hand."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from dispatcher_app.api.framework import Operation
from dispatcher_app.api.models import ErrorBody

__all__ = ["openapi_document"]

_REF = "#/components/schemas/{model}"
_REASONS = {
    400: "The request is not valid (see error.details)",
    401: "No bearer token, or an unknown or revoked one",
    403: "The API key's scope does not allow this operation",
    404: "Not found",
    409: "Conflict",
    413: "The body is too large",
    503: "The store is unavailable or the app is not started: retry later",
}


def _models(operations: Sequence[Operation]) -> list[tuple[type[BaseModel], JsonSchemaMode]]:
    seen: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {(ErrorBody, "serialization"): None}
    for operation in operations:
        seen[(operation.response, "serialization")] = None
        for model in (operation.query, operation.body):
            if model is not None:
                seen[(model, "validation")] = None
    return list(seen)


def _parameters(query: type[BaseModel] | None, schemas: dict[str, Any], ref: dict[str, Any]) -> list[dict[str, Any]]:
    if query is None:
        return []
    schema = schemas[ref["$ref"].rsplit("/", 1)[1]]
    required = set(schema.get("required", ()))
    parameters = []
    for name, field_schema in schema.get("properties", {}).items():
        described = dict(field_schema)
        description = described.pop("description", None)
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": name in required, "schema": described}
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


def _json(ref: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": ref}}


def _operation(operation: Operation, refs: Mapping[Any, dict[str, Any]], schemas: dict[str, Any]) -> Any:
    error = _json(refs[(ErrorBody, "serialization")])
    statuses = sorted({401, 403, 503, *operation.errors, *((400,) if operation.body or operation.query else ())})
    responses: dict[str, Any] = {
        str(operation.status): {"description": "Success", "content": _json(refs[(operation.response, "serialization")])}
    }
    for status in statuses:
        responses[str(status)] = {"description": _REASONS[status], "content": error}
    document: dict[str, Any] = {
        "operationId": operation.operation_id,
        "summary": operation.summary,
        "tags": [operation.tag],
        "x-required-scope": operation.scope.value,
        "parameters": [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
            for name in operation.path_params
        ]
        + (_parameters(operation.query, schemas, refs[(operation.query, "validation")]) if operation.query else []),
        "responses": responses,
    }
    if operation.body is not None:
        document["requestBody"] = {"required": True, "content": _json(refs[(operation.body, "validation")])}
    return document


@functools.cache
def _document(operations: tuple[Operation, ...], version: str) -> dict[str, Any]:
    refs, definitions = models_json_schema(_models(operations), ref_template=_REF)
    schemas: dict[str, Any] = definitions.get("$defs", {})
    paths: dict[str, dict[str, Any]] = {}
    for operation in operations:
        paths.setdefault(operation.path, {})[operation.method.lower()] = _operation(operation, refs, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Dispatcher public API",
            "version": version,
            "description": "Conversations, agents, templates, statistics and API keys. Authenticate with "
            "`Authorization: Bearer <DISPATCHER_ADMIN_TOKEN or API key>`; an API key's scope (read < send < "
            "admin) must allow the operation (`x-required-scope`). See docs/api.md.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def openapi_document(operations: tuple[Operation, ...], version: str = "1.0.0") -> dict[str, Any]:
    """The document (built once per set of operations: it depends on nothing else)."""
    return _document(operations, version)
