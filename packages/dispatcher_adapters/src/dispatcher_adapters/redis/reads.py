"""Small read helpers over the read-only scripts, shared by the repositories."""

from __future__ import annotations

from typing import Any, Literal

from dispatcher_adapters.redis.errors import guarded
from dispatcher_adapters.redis.scripts import as_list, decode
from dispatcher_adapters.redis.session import StoreContext

__all__ = ["zfetch"]


async def zfetch(
    ctx: StoreContext,
    key: str,
    *,
    mode: Literal["rank", "revrank", "score"],
    start: int | str,
    stop: int | str,
    source: Literal["hash", "field"],
    prefix: str,
    skip: int = 0,
) -> list[tuple[str, Any]]:
    """``(id, value)`` for a range of the sorted set ``key``: with ``source="hash"`` the value is ``[v, d]``
    of the hash at ``prefix + id``; with ``source="field"`` it is the id's field of the hash ``prefix``.
    ``skip`` leading characters of each member are dropped to get the id."""
    raw = decode(await guarded(ctx.scripts.zfetch(keys=[key], args=[mode, start, stop, source, prefix, skip])))
    members, values = as_list(raw[0]), as_list(raw[1])
    return [(member[skip:], value) for member, value in zip(members, values, strict=True)]
