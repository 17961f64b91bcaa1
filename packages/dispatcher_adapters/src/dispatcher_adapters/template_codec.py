"""A template definition as JSON, for the stores that keep the catalogue (SQL, Redis). Serialisation lives at
the edge: the core's :class:`~dispatcher_core.messaging.catalogue.TemplateDefinition` carries none.

``status`` and ``updated_at`` are not in the document: the stores keep them apart, so a status webhook changes
them without rewriting (or parsing) the definition.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from dispatcher_core.errors import InvalidInput
from dispatcher_core.messaging.catalogue import ParameterFormat, TemplateButton, TemplateDefinition
from dispatcher_core.messaging.template import ButtonKind, HeaderFormat

__all__ = ["decode_definition", "encode_definition"]


def encode_definition(template: TemplateDefinition) -> str:
    document: dict[str, Any] = {
        "template_id": template.template_id,
        "category": template.category,
        "parameter_format": template.parameter_format.value,
        "header_format": template.header_format.value if template.header_format is not None else None,
        "header_text": template.header_text,
        "body_text": template.body_text,
        "footer_text": template.footer_text,
        "buttons": [
            [button.kind.value if button.kind is not None else None, button.text, button.needs_value]
            for button in template.buttons
        ],
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def decode_definition(name: str, language: str, status: str, updated_at: datetime, raw: str) -> TemplateDefinition:
    try:
        document = json.loads(raw)
        header = document["header_format"]
        return TemplateDefinition(
            name=name,
            language=language,
            status=status,
            updated_at=updated_at,
            template_id=document["template_id"],
            category=document["category"],
            parameter_format=ParameterFormat(document["parameter_format"]),
            header_format=HeaderFormat(header) if header is not None else None,
            header_text=document["header_text"],
            body_text=document["body_text"],
            footer_text=document["footer_text"],
            buttons=tuple(
                TemplateButton(ButtonKind(kind) if kind is not None else None, text, bool(needs))
                for kind, text, needs in document["buttons"]
            ),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(f"stored template {name!r} ({language}) is unreadable: {exc}") from exc
