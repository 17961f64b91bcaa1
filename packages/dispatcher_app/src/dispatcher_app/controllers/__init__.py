"""HTTP routes that are not the webhook: admin (seed: ``dispatcher.controller.ts``) and health."""

from dispatcher_app.controllers.admin import admin_routes
from dispatcher_app.controllers.health import health_routes

__all__ = ["admin_routes", "health_routes"]
