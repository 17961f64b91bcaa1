"""A redis-py client configured the way these adapters expect, for the composition root.

Creating it does no I/O (connections open on first use); the caller closes it with ``await client.aclose()``.
Commands are retried on a lost connection or a timeout, with jittered exponential backoff: safe here because
every write goes through a script that recognises its own resend (the commit and publish tokens, the slot
claim's value) and every read is idempotent. Without retries a killed connection costs one failed call
(``StoreUnavailable``) before the next one reconnects.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError, TimeoutError

__all__ = ["create_client"]


def create_client(
    url: str,
    *,
    client_name: str | None = None,
    retries: int = 3,
    socket_timeout: float = 5.0,
    max_connections: int | None = None,
) -> Redis:
    """A client for ``url`` (``redis://`` or ``rediss://``) with ``decode_responses=True``, ``retries``
    retries of a command whose connection failed, and ``client_name`` shown by ``CLIENT LIST``."""
    return Redis.from_url(
        url,
        decode_responses=True,
        client_name=client_name,
        retry=Retry(ExponentialWithJitterBackoff(base=0.01, cap=0.5), retries),
        retry_on_error=[ConnectionError, TimeoutError],
        socket_timeout=socket_timeout,
        socket_connect_timeout=socket_timeout,
        health_check_interval=30,
        max_connections=max_connections,
    )
