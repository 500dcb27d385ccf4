"""Calling user functions with the arguments their signatures accept, and checking values
against declared types. Shared by the builder (at build time) and steps (at run time)."""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Callable
from typing import Any

from tasktronaut.define.constraints import UnsupportedConstraint, validate_hint, violation
from tasktronaut.errors import (
    ArgumentError,
    ArgumentTypeError,
    MissingArgumentError,
    TasktronautError,
)

SHORT = 80
"""How many characters of a value an error line shows."""


def short_repr(value: Any, limit: int = SHORT) -> str:
    """``repr(value)``, cut to ``limit`` characters (saying how long it was) for error lines."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text)} characters)"


@functools.lru_cache(maxsize=4096)
def _signature(function: Any, bound: bool) -> tuple[bool, frozenset[str], bool, tuple[str, ...]]:
    params = list(inspect.signature(function).parameters.values())
    if bound and params:
        params = params[1:]
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    accepts_all = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)
    names = frozenset(p.name for p in params if p.kind in kinds)
    required = tuple(
        p.name for p in params
        if p.kind in kinds and p.default is inspect.Parameter.empty and p.name != "context"
    )
    return accepts_all, names - {"context"}, "context" in names, required


def signature_of(func: Callable[..., Any]) -> tuple[bool, frozenset[str], bool, tuple[str, ...]]:
    target = getattr(func, "__func__", None)
    try:
        if target is not None and inspect.isfunction(target):
            return _signature(target, True)
        return _signature(func, False)
    except (TypeError, ValueError):
        return True, frozenset(), False, ()


def check_required(required: tuple[str, ...], step: str, kwargs: dict[str, Any],
                    available: dict[str, Any]) -> None:
    missing = [n for n in required if n not in kwargs]
    if missing:
        raise MissingArgumentError(
            f"step '{step}' needs argument(s) {', '.join(missing)} that the process does not "
            f"have (it has: {', '.join(available) or 'none'})",
            name=missing[0],
        )


def call_with(func: Any, kwargs: dict[str, Any], what: str = "") -> Any:
    """Call ``func`` with the arguments its signature accepts."""
    if not callable(func):
        where = f"{what} needs" if what else "expected"
        raise ArgumentError(f"{where} a function, got {short_repr(func)}", name=what or "func",
                            value=func)
    accepts_all, names, _, _ = signature_of(func)
    return func(**(kwargs if accepts_all else {k: v for k, v in kwargs.items() if k in names}))


def check_item(value: Any, func: Any, what: str) -> tuple[dict[str, Any], str | None]:
    """Validate what an ``each``/``transform`` function produced: dict or (dict, str)."""
    data: Any = None
    if isinstance(value, dict):
        data, description = value, None
    elif (isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], dict)
            and (value[1] is None or isinstance(value[1], str))):
        data, description = value
    if data is None:
        raise ArgumentError(
            f"{what}: {callable_name(func, None)} must produce a dict or a (dict, description) "
            f"pair, got {short_repr(value)}",
            name=what, value=value,
        )
    for key in data:
        if not isinstance(key, str):
            raise ArgumentError(
                f"{what}: {callable_name(func, None)} produced an argument name that is not "
                f"a string: {key!r}", name=what, value=value,
            )
    return data, description


def callable_name(func: Any, definition: Any) -> str:
    owner = getattr(func, "__self__", None)
    name = getattr(func, "__name__", None) or getattr(func, "_mock_name", None)
    if owner is not None and owner is definition and name:
        return f"{type(definition).__name__}.{name}"
    return getattr(func, "__qualname__", None) or name or type(func).__name__


def is_type(hint: Any) -> bool:
    """Whether ``hint`` is something typeguard can check against."""
    return (isinstance(hint, type) or typing.get_origin(hint) is not None
            or hint is Any or isinstance(hint, typing.TypeVar))


def is_optional(hint: Any) -> bool:
    if typing.get_origin(hint) is typing.Annotated:
        hint = typing.get_args(hint)[0]
    origin = typing.get_origin(hint)
    return (origin is typing.Union or origin is types.UnionType) and type(None) in (
        typing.get_args(hint)
    )


def type_name(hint: Any) -> str:
    if hint is None:
        return "any value"
    if typing.get_origin(hint) is typing.Annotated:
        return type_name(typing.get_args(hint)[0])
    if isinstance(hint, type) and not typing.get_args(hint):
        return hint.__name__
    return str(hint).replace("typing.", "")


def check_hint(process: str, name: str, hint: Any) -> None:
    """Refuse a declared type whose ``Annotated`` constraints cannot be checked."""
    try:
        validate_hint(hint)
    except UnsupportedConstraint as e:
        raise ArgumentError(
            f"{process}: expected_arguments({name}=...) has a constraint tasktronaut cannot "
            f"check: {e}", name=name, value=hint,
        ) from None


def check_argument(process: str, name: str, value: Any, hint: Any) -> None:
    """Check ``value`` against ``hint``: its type (typeguard), then ``Annotated`` bounds."""
    from typeguard import CollectionCheckStrategy, TypeCheckError, check_type  # ~30 ms

    try:
        check_type(value, hint, collection_check_strategy=CollectionCheckStrategy.ALL_ITEMS)
    except TypeCheckError:
        raise ArgumentTypeError(
            f"{process}: argument '{name}' expected {type_name(hint)}, got {short_repr(value)}",
            name=name, value=value,
        ) from None
    problem = violation(value, hint)
    if problem is not None:
        raise ArgumentTypeError(
            f"{process}: argument '{name}' must be {problem}, got {short_repr(value)}",
            name=name, value=value,
        )



PHASE_ATTR = "__tasktronaut_phase__"


def annotate(error: BaseException, phase: str) -> None:
    """Say where in building a workflow ``error`` (the user's own) was raised, once.

    The exception keeps its type (callers may catch it); the phase is kept in an attribute
    that the command line prints before the message, and as a note in tracebacks.
    """
    if getattr(error, PHASE_ATTR, None) is not None:
        return
    try:
        setattr(error, PHASE_ATTR, phase)
    except (AttributeError, TypeError):
        return
    add_note = getattr(error, "add_note", None)
    if add_note is not None:
        add_note(f"(raised {phase})")


def user_code(phase: str, func: Callable[..., Any], *args: Any) -> Any:
    """Call the workflow's own code, saying in what phase it raised (see :func:`annotate`)."""
    try:
        return func(*args)
    except TasktronautError:
        raise
    except Exception as e:
        annotate(e, phase)
        raise
