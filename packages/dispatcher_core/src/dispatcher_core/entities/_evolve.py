"""A fast ``dataclasses.replace`` for the entities' own transitions.

``dataclasses.replace`` re-runs ``__init__`` through a generic field walk and was the single largest cost of
the dispatch hot path. Transitions of a frozen, slotted entity only need a copy with a few slots changed, so
each entity class gets a copier generated once (like attrs generates its methods) that sets every slot
directly: about half the cost of a generic loop. It skips ``__post_init__``, which is fine for transitions of
an already valid value; values built from outside input go through the constructor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["evolve"]

T = TypeVar("T")
_copiers: dict[type, Callable[[Any, dict[str, Any]], Any]] = {}


def _copier(cls: type) -> Callable[[Any, dict[str, Any]], Any]:
    names: tuple[str, ...] = cls.__slots__  # type: ignore[attr-defined]  # only used on slotted dataclasses
    lines = ["def copy(self, changes):", "    new = _new(_cls)", "    get = changes.get"]
    lines += [f"    _set(new, {name!r}, get({name!r}, self.{name}))" for name in names]
    lines.append("    return new")
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls, "_set": object.__setattr__}
    exec("\n".join(lines), namespace)
    copy: Callable[[Any, dict[str, Any]], Any] = namespace["copy"]
    return copy


def evolve(instance: T, **changes: Any) -> T:
    cls = type(instance)
    copier = _copiers.get(cls)
    if copier is None:
        copier = _copiers[cls] = _copier(cls)
    result: T = copier(instance, changes)
    return result
