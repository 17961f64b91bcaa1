"""The approved-template catalogue on Redis: two hashes under the store's prefix.

* ``<prefix>:templates`` - field ``["name","language"]`` (JSON) -> the definition document;
* ``<prefix>:templates-state`` - same field -> ``"<updated_at in µs> <status>"``.

``replace_all`` and every read are MULTI/EXEC transactions over both keys, so a reader sees one catalogue
whole; ``set_status`` is one Lua script (compare the time, then write). On Redis Cluster the prefix's hash tag
keeps both keys in one slot, as for the store.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import redis.exceptions as redis_errors
from redis.asyncio import Redis

from dispatcher_adapters.redis.errors import translate
from dispatcher_adapters.redis.session import require_decoded_responses
from dispatcher_adapters.template_codec import decode_definition, encode_definition
from dispatcher_core.messaging.catalogue import TemplateDefinition

__all__ = ["RedisTemplateCatalogue"]

T = TypeVar("T")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: KEYS[1] state hash; ARGV field, time in µs, status. 1 when written, 0 when unknown or newer.
_SET_STATUS = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then return 0 end
local space = string.find(current, ' ', 1, true)
if tonumber(string.sub(current, 1, space - 1)) > tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ' ' .. ARGV[3])
return 1
"""


def _field(name: str, language: str) -> str:
    return json.dumps([name, language], ensure_ascii=False, separators=(",", ":"))


def _micros(at: datetime) -> int:
    delta = at - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _state(template: TemplateDefinition) -> str:
    return f"{_micros(template.updated_at)} {template.status}"


def _decode(field: str, document: str, state: str) -> TemplateDefinition:
    name, language = json.loads(field)
    micros, _, status = state.partition(" ")
    updated_at = _EPOCH + timedelta(microseconds=int(micros))
    return decode_definition(str(name), str(language), status, updated_at, document)


class RedisTemplateCatalogue:
    """Implements :class:`~dispatcher_core.ports.TemplateCatalogue`. The caller owns the client
    (``decode_responses=True``)."""

    def __init__(self, client: Redis, *, prefix: str = "dispatcher") -> None:
        require_decoded_responses(client, "RedisTemplateCatalogue")
        self._client = client
        self._documents = f"{prefix}:templates"
        self._states = f"{prefix}:templates-state"
        self._set_status = client.register_script(_SET_STATUS)

    async def _run(self, call: Callable[[], Awaitable[T]]) -> T:
        try:
            return await call()
        except (redis_errors.RedisError, OSError) as exc:
            raise translate(exc) from exc

    async def replace_all(self, templates: Sequence[TemplateDefinition]) -> None:
        documents = {_field(t.name, t.language): encode_definition(t) for t in templates}
        states = {_field(t.name, t.language): _state(t) for t in templates}

        async def write() -> None:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.delete(self._documents, self._states)
                if documents:
                    pipe.hset(self._documents, mapping=documents)  # type: ignore[arg-type]  # str -> str is fine
                    pipe.hset(self._states, mapping=states)  # type: ignore[arg-type]  # same
                await pipe.execute()

        await self._run(write)

    async def upsert(self, template: TemplateDefinition) -> None:
        field = _field(template.name, template.language)

        async def write() -> None:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.hset(self._documents, field, encode_definition(template))
                pipe.hset(self._states, field, _state(template))
                await pipe.execute()

        await self._run(write)

    async def set_status(self, name: str, language: str, status: str, at: datetime) -> bool:
        field = _field(name, language)
        written = await self._run(lambda: self._set_status(keys=[self._states], args=[field, _micros(at), status]))
        return bool(written)

    async def get(self, name: str, language: str) -> TemplateDefinition | None:
        field = _field(name, language)

        async def read() -> list[Any]:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.hget(self._documents, field)
                pipe.hget(self._states, field)
                return await pipe.execute()

        document, state = await self._run(read)
        if document is None or state is None:
            return None
        return _decode(field, document, state)

    async def list(self) -> list[TemplateDefinition]:
        async def read() -> list[Any]:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.hgetall(self._documents)
                pipe.hgetall(self._states)
                return await pipe.execute()

        documents, states = await self._run(read)
        found = [_decode(field, document, states[field]) for field, document in documents.items() if field in states]
        return sorted(found, key=lambda template: (template.name, template.language))
