"""The public HTTP API under ``/api/v1`` (docs/api.md), its OpenAPI document and its reference page.

:func:`api_routes` mounts the operations of :mod:`dispatcher_app.api.handlers`, ``/openapi.json`` (generated
from the same models that validate the requests) and ``/api/docs`` (a self-contained page: no CDN, no
external URL).
"""

from __future__ import annotations

from importlib import resources

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from dispatcher_app.api.framework import ApiError, endpoint, error_response
from dispatcher_app.api.handlers import OPERATIONS
from dispatcher_app.api.openapi import openapi_document
from dispatcher_app.runtime import RuntimeHolder

__all__ = ["OPERATIONS", "api_routes"]

_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline';"
    " connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


async def _openapi(request: Request) -> Response:
    return JSONResponse(openapi_document(OPERATIONS))


async def _reference(request: Request) -> Response:
    page = resources.files("dispatcher_app.api").joinpath("reference.html").read_text(encoding="utf-8")
    return HTMLResponse(page, headers=_PAGE_HEADERS)


def api_routes(holder: RuntimeHolder) -> list[Route]:
    """One route per operation, the document, the page, and a JSON 404/405 for the rest of ``/api/v1``."""
    routes = [
        Route(operation.path, endpoint(holder, operation), methods=[operation.method]) for operation in OPERATIONS
    ]

    async def unknown(request: Request) -> Response:
        path = request.url.path
        if any(route.path_regex.match(path) for route in routes):
            return error_response(ApiError(405, "method_not_allowed", f"{request.method} is not allowed on {path}"))
        return error_response(ApiError(404, "not_found", f"no operation {request.method} {path}"))

    return [
        *routes,
        Route("/openapi.json", _openapi, methods=["GET"]),
        Route("/api/docs", _reference, methods=["GET"]),
        Route("/api/v1/{rest:path}", unknown, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
    ]
