"""Conformance suite of :class:`~dispatcher_core.ports.TemplateCatalogue`.

Subclass :class:`TemplateCatalogueConformance` and provide an async ``catalogue`` fixture returning an empty
catalogue. Not part of :class:`StoreConformance`: the catalogue is its own object, beside the unit of work.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from dispatcher_core.messaging.catalogue import ParameterFormat, TemplateButton, TemplateDefinition
from dispatcher_core.messaging.template import ButtonKind, HeaderFormat
from dispatcher_core.ports.template_catalogue import TemplateCatalogue
from dispatcher_core.testing.conformance._support import ConformanceSuite

__all__ = ["TemplateCatalogueConformance"]

T0 = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)


def definition(
    name: str, language: str = "en_US", *, status: str = "APPROVED", at: datetime = T0
) -> TemplateDefinition:
    return TemplateDefinition(name=name, language=language, status=status, updated_at=at, body_text="Hi {{1}}")


FULL = TemplateDefinition(
    name="order_update",
    language="pt_BR",
    status="APPROVED",
    updated_at=T0 + timedelta(microseconds=123456),
    template_id="1234567890",
    category="UTILITY",
    parameter_format=ParameterFormat.NAMED,
    header_format=HeaderFormat.TEXT,
    header_text="Pedido {{order_id}}",
    body_text="Olá {{first_name}} — total {{total}}, entrega {{day}} ✓",
    footer_text="Responda SAIR",
    buttons=(
        TemplateButton(ButtonKind.QUICK_REPLY, "Parar"),
        TemplateButton(ButtonKind.URL, "Ver", needs_value=True),
        TemplateButton(ButtonKind.COPY_CODE, "Copiar", needs_value=True),
        TemplateButton(ButtonKind.PHONE_NUMBER, None),
        TemplateButton(None, "Catálogo"),
    ),
)


class TemplateCatalogueConformance(ConformanceSuite):
    """The approved-template catalogue (``TemplateCatalogue``): templates come back as stored, ``replace_all``
    replaces the whole catalogue, ``upsert``/``set_status`` never go back in time. Needs a ``catalogue``
    fixture."""

    async def test_an_empty_catalogue(self, catalogue: TemplateCatalogue) -> None:
        assert await catalogue.list() == []
        assert await catalogue.get("anything", "en_US") is None

    async def test_every_field_comes_back_as_stored(self, catalogue: TemplateCatalogue) -> None:
        media = TemplateDefinition("invoice", "en", "PAUSED", T0, header_format=HeaderFormat.DOCUMENT)
        await catalogue.upsert(FULL)
        await catalogue.upsert(media)
        assert await catalogue.get("order_update", "pt_BR") == FULL
        assert await catalogue.get("invoice", "en") == media
        assert await catalogue.get("order_update", "en_US") is None  # the language is part of the key

    async def test_list_is_sorted_by_name_then_language(self, catalogue: TemplateCatalogue) -> None:
        for name, language in [("b", "fr"), ("a", "fr"), ("b", "en"), ("a", "en_US")]:
            await catalogue.upsert(definition(name, language))
        assert [(t.name, t.language) for t in await catalogue.list()] == [
            ("a", "en_US"),
            ("a", "fr"),
            ("b", "en"),
            ("b", "fr"),
        ]

    async def test_upsert_replaces_the_entry_of_its_key(self, catalogue: TemplateCatalogue) -> None:
        await catalogue.upsert(definition("greeting"))
        changed = TemplateDefinition("greeting", "en_US", "APPROVED", T0, body_text="Hello {{1}} and {{2}}")
        await catalogue.upsert(changed)
        assert await catalogue.list() == [changed]

    async def test_replace_all_makes_the_catalogue_exactly_the_new_list(self, catalogue: TemplateCatalogue) -> None:
        await catalogue.upsert(definition("old"))
        await catalogue.upsert(definition("kept", status="PENDING"))
        new = [definition("kept"), definition("new", "fr"), definition("new", "fr", status="REJECTED")]
        await catalogue.replace_all(new)
        assert await catalogue.list() == [definition("kept"), definition("new", "fr", status="REJECTED")]
        await catalogue.replace_all([])
        assert await catalogue.list() == []

    async def test_set_status_changes_only_that_entry(self, catalogue: TemplateCatalogue) -> None:
        await catalogue.replace_all([definition("a"), definition("b")])
        later = T0 + timedelta(minutes=5)
        assert await catalogue.set_status("a", "en_US", "PAUSED", later)
        assert await catalogue.get("a", "en_US") == definition("a", status="PAUSED", at=later)
        assert await catalogue.get("b", "en_US") == definition("b")

    async def test_set_status_of_an_unknown_template_changes_nothing(self, catalogue: TemplateCatalogue) -> None:
        await catalogue.upsert(definition("a"))
        assert not await catalogue.set_status("a", "fr", "APPROVED", T0 + timedelta(minutes=1))
        assert not await catalogue.set_status("zzz", "en_US", "APPROVED", T0 + timedelta(minutes=1))
        assert await catalogue.list() == [definition("a")]

    async def test_an_older_status_does_not_overwrite_a_newer_one(self, catalogue: TemplateCatalogue) -> None:
        await catalogue.upsert(definition("a"))
        later = T0 + timedelta(hours=1)
        assert await catalogue.set_status("a", "en_US", "DISABLED", later)
        assert not await catalogue.set_status("a", "en_US", "APPROVED", T0 + timedelta(minutes=30))
        assert await catalogue.get("a", "en_US") == definition("a", status="DISABLED", at=later)

    async def test_readers_see_the_old_or_the_new_catalogue_never_a_mix(self, catalogue: TemplateCatalogue) -> None:
        old = [definition(f"old_{index:02d}") for index in range(20)]
        new = [definition(f"new_{index:02d}") for index in range(20)]
        await catalogue.replace_all(old)
        seen: list[list[TemplateDefinition]] = []

        async def read() -> None:
            for _ in range(10):
                seen.append(await catalogue.list())
                await asyncio.sleep(0)

        await asyncio.gather(read(), catalogue.replace_all(new), read())
        assert all(snapshot in (old, new) for snapshot in seen)
        assert await catalogue.list() == new
