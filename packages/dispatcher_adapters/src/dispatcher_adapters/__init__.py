"""Adapters for the ports of ``dispatcher_core``.

Subpackages do not import each other: ``memory`` (in-process, used by the simulator, the demo and tests),
``sql`` (SQLite and PostgreSQL), ``redis``, ``whatsapp``. Importing this package imports none of them.
"""
