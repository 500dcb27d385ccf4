"""Constraints in ``Annotated`` types: ``Annotated[int, Gt(0)]``, ``Annotated[str, MinLen(1)]``.

tasktronaut 0.3 validated arguments with pydantic, so definitions written for it carry bounds
as ``Annotated`` metadata (annotated-types' ``Gt``, ``Ge``, ``Lt``, ``Le``, ``MinLen``,
``MaxLen``, ``MultipleOf``, ``Interval``, ``Len``, ``Predicate``, or pydantic's ``Field(...)``,
whose ``metadata`` holds those). typeguard checks only the base type, so the metadata is checked
here, by duck typing on the attribute names, which needs neither pydantic nor annotated-types.

Metadata that is not a constraint (a docstring, a marker object) is ignored; a constraint of a
kind this module does not know (annotated-types' ``Timezone``, pydantic's ``strict``) is refused
at build time rather than silently not checked.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from typing import Annotated, Any

_BOUNDS: dict[str, tuple[str, Callable[[Any, Any], bool]]] = {
    "gt": (">", lambda v, b: v > b),
    "ge": (">=", lambda v, b: v >= b),
    "lt": ("<", lambda v, b: v < b),
    "le": ("<=", lambda v, b: v <= b),
    "multiple_of": ("a multiple of", lambda v, b: v % b == 0),
    "min_length": ("of length >=", lambda v, b: len(v) >= b),
    "max_length": ("of length <=", lambda v, b: len(v) <= b),
    "pattern": ("matching", lambda v, p: re.search(p, v) is not None),
}
_CONSTRAINT_MODULES = ("annotated_types", "pydantic")
_PASSIVE = frozenset({"DocInfo", "Doc", "Strict", "FieldInfo"})


class ConstraintError(Exception):
    """A value breaks a constraint; ``what`` says which, in words (``"> 0"``)."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class UnsupportedConstraint(Exception):
    """Metadata that looks like a constraint this module cannot check."""


def _items(meta: Any) -> Iterator[Any]:
    """The constraints in one piece of metadata (pydantic's ``FieldInfo`` holds a list)."""
    nested = getattr(meta, "metadata", None)
    if isinstance(nested, list) and type(meta).__name__ == "FieldInfo":
        yield from nested
        return
    yield meta


def constraints(meta: Any) -> list[tuple[str, Any]]:
    """The ``(name, bound)`` pairs in one piece of ``Annotated`` metadata (empty if none)."""
    found: list[tuple[str, Any]] = []
    for item in _items(meta):
        module = (type(item).__module__ or "").split(".")[0]
        named = [(n, getattr(item, n)) for n in _BOUNDS if getattr(item, n, None) is not None]
        if type(item).__name__ == "Predicate" and callable(getattr(item, "func", None)):
            named.append(("func", item.func))
        if named:
            found.extend(named)
        elif module in _CONSTRAINT_MODULES and not _passive(item):
            raise UnsupportedConstraint(repr(item))
    return found


def _passive(item: Any) -> bool:
    """Whether a pydantic/annotated-types object carries no check (a doc, ``Strict``: we are
    strict anyway)."""
    return type(item).__name__ in _PASSIVE


def check(value: Any, found: list[tuple[str, Any]]) -> None:
    """Raise :class:`ConstraintError` naming the first constraint ``value`` breaks."""
    for name, bound in found:
        if name == "func":
            ok, what = bool(bound(value)), f"accepted by {getattr(bound, '__qualname__', bound)}"
        else:
            words, test = _BOUNDS[name]
            what = f"{words} {bound!r}"
            try:
                ok = bool(test(value, bound))
            except TypeError:
                ok = False
        if not ok:
            raise ConstraintError(what)


def violation(value: Any, hint: Any) -> str | None:
    """What constraint in ``hint`` (anywhere: top level, ``Optional``, containers) ``value``
    breaks, or ``None``. ``value`` already has ``hint``'s base type."""
    origin = typing.get_origin(hint)
    if origin is Annotated:
        try:
            for meta in hint.__metadata__:
                check(value, constraints(meta))
        except ConstraintError as e:
            return e.what
        return violation(value, typing.get_args(hint)[0])
    args = typing.get_args(hint)
    if origin is typing.Union or origin is types.UnionType:
        found = [violation(value, a) for a in args if _fits(value, a)]
        return None if not found or None in found else found[0]
    if origin in (list, set, frozenset) or (origin is tuple and len(args) == 2
                                             and args[1] is Ellipsis):
        return next((v for v in (violation(x, args[0]) for x in value) if v), None)
    if origin is tuple:
        return next((v for v in map(violation, value, args) if v), None)
    if origin is dict and isinstance(value, Mapping) and len(args) == 2:
        for key, item in value.items():
            problem = violation(key, args[0]) or violation(item, args[1])
            if problem:
                return problem
    return None


def _fits(value: Any, hint: Any) -> bool:
    from typeguard import CollectionCheckStrategy, TypeCheckError, check_type

    try:
        check_type(value, hint, collection_check_strategy=CollectionCheckStrategy.ALL_ITEMS)
    except TypeCheckError:
        return False
    return True


def validate_hint(hint: Any) -> None:
    """Refuse a hint with metadata that looks like a constraint but cannot be checked."""
    if typing.get_origin(hint) is Annotated:
        for meta in hint.__metadata__:
            constraints(meta)
    for arg in typing.get_args(hint):
        if not isinstance(arg, (str, int, float, bool, type(None))) and arg is not Ellipsis:
            validate_hint(arg)
