"""WebSockets: ``agent`` and ``admin`` sockets, their ``connection`` outboxes and the per-instance ``router``.

Import the submodules directly; this package imports nothing so that the router can be used by
:mod:`dispatcher_app.hub` without pulling in the socket endpoints.
"""
