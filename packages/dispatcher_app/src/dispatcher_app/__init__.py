"""dispatcher_app: the composition root (dependency-injector), the Starlette app and the ``dispatcher`` CLI."""
