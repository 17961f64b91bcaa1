"""Sub-commands of the ``dispatcher`` CLI, one module each, each with a ``register(subparsers)``."""
