"""``/dashboard`` and its assets, alone and in the demo's app (the dispatcher app with the dashboard)."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from websockets.asyncio.client import connect

from dispatcher_app import create_app
from dispatcher_app.dashboard import dashboard_routes
from dispatcher_app.demo.server import demo_app, with_dashboard
from dispatcher_app.testing import TEST_ADMIN_TOKEN, make_config, receive_json, serve


def client(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://dashboard.test")


async def test_the_page_and_its_assets_are_served_with_a_same_origin_policy() -> None:
    async with client(Starlette(routes=dashboard_routes())) as http:
        page = await http.get("/dashboard")
        assert page.status_code == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert page.headers["cache-control"] == "no-store"
        assert page.headers["referrer-policy"] == "no-referrer"
        policy = page.headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert "script-src 'self'" in policy
        for asset, kind in (("dashboard.js", "javascript"), ("dashboard.css", "text/css")):
            assert f'"dashboard/static/{asset}"' in page.text
            response = await http.get(f"/dashboard/static/{asset}")
            assert response.status_code == 200
            assert kind in response.headers["content-type"]
            assert response.headers["content-security-policy"] == policy
        assert (await http.get("/dashboard/static/nope.js")).status_code == 404
        assert (await http.head("/dashboard")).status_code == 200


@pytest.mark.parametrize("path", ["/dashboard", "/dashboard/static/dashboard.js", "/dashboard/static/dashboard.css"])
async def test_nothing_is_loaded_from_another_origin(path: str) -> None:
    """The page must work offline: no CDN, no external font, no absolute URL in what it loads."""
    async with client(Starlette(routes=dashboard_routes())) as http:
        text = (await http.get(path)).text
    assert "http://" not in text
    assert "https://" not in text
    assert "//cdn" not in text


async def test_the_page_works_under_a_prefix() -> None:
    """Asset links are relative to the page, so an app mounted under ``/support`` serves them there."""
    host = Starlette(routes=[Mount("/support", routes=dashboard_routes())])
    async with client(host) as http:
        assert (await http.get("/support/dashboard")).status_code == 200
        assert (await http.get("/support/dashboard/static/dashboard.js")).status_code == 200


async def test_the_demo_app_serves_the_dashboard_next_to_the_dispatcher() -> None:
    app = demo_app(make_config())
    async with serve(app) as server, httpx.AsyncClient(base_url=server.http_url) as http:
        assert (await http.get("/dashboard")).status_code == 200
        assert (await http.get("/healthz")).json()["started"] is True
        queue = await http.get("/admin/queue", headers={"Authorization": f"Bearer {TEST_ADMIN_TOKEN}"})
        assert queue.json() == {"agents": [], "capacity": None}
        async with connect(f"{server.ws_url}/ws/admin?token={TEST_ADMIN_TOKEN}") as admin:
            hello = await receive_json(admin)
        assert (hello["type"], hello["queue"]) == ("hello", [])


async def test_the_dashboard_is_added_only_to_an_app_that_lacks_it() -> None:
    serving = Starlette(routes=dashboard_routes())
    assert with_dashboard(serving) is serving
    wrapped = with_dashboard(create_app(make_config()))
    async with client(wrapped) as http:
        assert (await http.get("/dashboard")).status_code == 200
        assert (await http.get("/healthz")).json() == {"status": "ok", "started": False}  # the app behind it
