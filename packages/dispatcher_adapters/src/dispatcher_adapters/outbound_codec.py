"""Outbound messages to and from JSON, for the stores that keep them as a document (SQL's ``data`` column,
Redis hashes): the one place that knows that format, shared by the SQL and Redis adapters.

The content is tagged (``{"type": "text", ...}`` or ``{"type": "template", ...}``) so the union reads back
without guessing; everything else is the entity's fields (datetimes as ISO 8601 with their offset, enums by
value). ``version`` is not part of the document: each store keeps it beside, for its compare-and-set.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from cattrs.preconf.json import make_converter

from dispatcher_core.errors import StoreError
from dispatcher_core.messaging.outbound import Content, OutboundMessage, TextContent
from dispatcher_core.messaging.template import TemplateMessage

__all__ = ["dump_outbound", "load_outbound", "register_content_hooks"]

_converter = make_converter()


def _dump_content(content: Content) -> dict[str, Any]:
    kind = "template" if isinstance(content, TemplateMessage) else "text"
    document: dict[str, Any] = _converter.unstructure(content)
    return {"type": kind, **document}


def _load_content(document: dict[str, Any]) -> Content:
    kind = document.pop("type")
    if kind == "template":
        return _converter.structure(document, TemplateMessage)
    return _converter.structure(document, TextContent)


def register_content_hooks(converter: Any) -> None:
    """Teach another cattrs converter (the Redis event codec's) the tagged content union."""
    converter.register_unstructure_hook(TextContent, _dump_content)
    converter.register_unstructure_hook(TemplateMessage, _dump_content)
    converter.register_structure_hook(Content, lambda document, _: _load_content(dict(document)))


_converter.register_structure_hook(Content, lambda document, _: _load_content(dict(document)))


def dump_outbound(message: OutboundMessage) -> str:
    document: dict[str, Any] = _converter.unstructure(replace(message, content=TextContent("-"), version=0))
    document["content"] = _dump_content(message.content)
    del document["version"]
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def load_outbound(text: str, version: int) -> OutboundMessage:
    try:
        document = json.loads(text)
        document["version"] = version
        return _converter.structure(document, OutboundMessage)
    except Exception as exc:  # any malformed document: cattrs raises validation groups, json ValueError
        raise StoreError(f"an outbound message in the store cannot be read: {exc}") from exc
