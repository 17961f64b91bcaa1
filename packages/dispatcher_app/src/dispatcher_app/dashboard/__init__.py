"""The live dashboard: a static page (``static/``) served at ``/dashboard`` that reads the admin API and the
admin socket in the browser.

Why static files and no build step: the page must work offline (no CDN, no external fonts) and be readable
by anyone who opens the package; it needs nothing but the public admin interface of ``docs/api.md``.
"""

from __future__ import annotations

from dispatcher_app.dashboard.routes import DASHBOARD_PATH, dashboard_routes

__all__ = ["DASHBOARD_PATH", "dashboard_routes"]
