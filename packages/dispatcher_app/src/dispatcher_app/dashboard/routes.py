"""``GET /dashboard`` (the page) and ``/dashboard/static/*`` (its script and style sheet).

The files ship inside the package and are found with :mod:`importlib.resources`, so the dashboard works from
a wheel as from a checkout. The page holds no secret: it asks for the admin token (``?token=`` or a form)
and then talks to ``/admin/*`` and ``/ws/admin`` like any other admin client, so serving it needs no
authentication. Its response headers forbid anything but same-origin resources (no CDN can sneak in) and keep
the token in its URL out of ``Referer`` headers.

The asset links in ``index.html`` are relative (``dashboard/static/...``), so the page also works when the
app is mounted under a prefix (``docs/embedding.md``).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

__all__ = ["DASHBOARD_PATH", "dashboard_routes"]

DASHBOARD_PATH = "/dashboard"

#: Same-origin only: the page works offline and no third-party script can read the admin token.
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def _static_dir() -> Path:
    """The ``static`` folder of this package, on disk (wheels are installed unzipped)."""
    return Path(str(files("dispatcher_app.dashboard").joinpath("static")))


class _DashboardFiles(StaticFiles):
    """The page's assets with the page's security headers; revalidated on every load (they change with the
    package version and are tiny)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update({**_SECURITY_HEADERS, "Cache-Control": "no-cache"})
        return response


async def _page(request: Request) -> Response:
    return FileResponse(
        _static_dir() / "index.html",
        media_type="text/html; charset=utf-8",
        headers={**_SECURITY_HEADERS, "Cache-Control": "no-store"},
    )


def dashboard_routes() -> list[BaseRoute]:
    """The dashboard's routes, to add to the app's route list (``*dashboard_routes()``). No I/O: the folder is
    looked at when a file is first requested."""
    return [
        Route(DASHBOARD_PATH, _page, methods=["GET", "HEAD"], name="dashboard"),
        Mount(
            f"{DASHBOARD_PATH}/static",
            app=_DashboardFiles(directory=_static_dir(), check_dir=False),
            name="dashboard-static",
        ),
    ]
