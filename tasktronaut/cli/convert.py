"""Command-line text to Python values of the types a process or a task function declares.

A value is read as JSON when it is JSON (``3``, ``true``, ``[1, 2]``, ``{"a": 1}``, ``null``)
and as a plain string otherwise, as iotaa does. It is then converted to the declared type with
cattrs, which knows containers (``list[...]``, ``dict[...]``, ``tuple[...]``, ``set[...]``),
``Literal``, enums and attrs classes. Hooks here make the scalars strict (``1.7`` is not an
``int``, ``"maybe"`` is not a ``bool``), add ``date``, ``datetime`` and ``Path``, and try the
members of a ``Union``/``Optional`` in their declared order.

When the JSON reading does not convert but the plain text would, the text wins: ``--arg
name=1e3`` gives the string ``"1e3"`` to a ``str`` argument, not ``"1000.0"``. A type the
converter does not know (or ``None``, "any type") gets the JSON value as it is.

Processes declare their types with ``expected_arguments``; asset-task functions with their
parameter annotations (:func:`convert_call`). The scalars above and unions of them (``str |
Path``, ``Optional[int]``) go straight to their hooks, as cattrs would send them; cattrs is
imported for the other types only.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import inspect
import json
import re
import sys
import types
import typing
from collections import abc
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any, Literal, Union, get_args, get_origin

from tasktronaut.define.signature import short_repr
from tasktronaut.errors import ArgumentError, ArgumentTypeError

if TYPE_CHECKING:
    import cattrs

_TRUE = ("true", "yes", "1")
_FALSE = ("false", "no", "0")


class ConversionError(ArgumentTypeError):
    """A command-line value that cannot be converted to its argument's declared type."""

    def __init__(self, name: str, expected: Any, text: str, detail: str = "") -> None:
        message = f"argument '{name}' expects {type_name(expected)}, got {short_repr(text)}"
        super().__init__(message + (f" ({detail})" if detail else ""), name=name, value=text)
        self.expected = expected


def parse_value(text: str) -> Any:
    """The JSON value ``text`` stands for, or ``text`` itself when it is not JSON."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def split_assignment(text: str, flag: str = "--arg") -> tuple[str, str]:
    """Split ``name=value``; raise :class:`ArgumentError` naming the flag when malformed."""
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise ArgumentError(f"{flag} expects name=value, got {short_repr(text)}", name=None,
                            value=text)
    return name, value


def convert(text: str, expected: Any, name: str) -> Any:
    """Convert command-line ``text`` to the type ``expected``.

    ``None`` (or ``Any``) means any type, and so does a type the converter does not know: the
    parsed value is given as it is (a process still checks it against its declared type).
    """
    value = parse_value(text)
    if expected is None or expected is Any:
        return value
    try:
        return structure_as(value, expected)
    except Exception as first:
        if _is_cattrs_error(first, "StructureHandlerNotFoundError"):
            return value
        if value != text:
            try:
                return structure_as(text, expected)
            except Exception:
                pass
        raise ConversionError(name, expected, text, _detail(first)) from first


def structure_as(value: Any, expected: Any) -> Any:
    """``value`` as the type ``expected``: a scalar or a union by its hook, anything else by
    the cattrs converter."""
    hook = _SCALARS.get(expected) if isinstance(expected, type) else None
    if hook is not None:
        return hook(value, expected)
    if _is_union(expected):
        return _union_hook(expected)(value, expected)
    return converter().structure(value, expected)


def _is_cattrs_error(error: BaseException, kind: str) -> bool:
    """Whether ``error`` is cattrs' ``kind`` (never, while cattrs is not imported)."""
    cattrs = sys.modules.get("cattrs")
    return cattrs is not None and isinstance(error, getattr(cattrs, kind))


def convert_arguments(values: Mapping[str, str], types: Mapping[str, Any]) -> dict[str, Any]:
    """Convert each ``name: text`` to the type ``types`` declares for it; others as parsed."""
    return {name: convert(text, types.get(name), name) for name, text in values.items()}


def parse_assignments(items: Sequence[str], flag: str) -> dict[str, str]:
    """``name=value`` items as a dict (a later item wins)."""
    return dict(split_assignment(item, flag) for item in items)


def convert_call(func: Callable[..., Any], args: Sequence[str], named: Mapping[str, str],
                 label: str) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Bind command-line values to ``func``'s parameters, converted to their annotated types.

    Raises :class:`ArgumentError` (prefixed with ``label``) when they do not fit the signature.
    """
    signature = inspect.signature(func)
    try:
        bound = signature.bind(*args, **named)
    except TypeError as e:
        raise ArgumentError(f"{label}: {e}") from None
    hints = parameter_types(func)
    for name, value in bound.arguments.items():
        kind = signature.parameters[name].kind
        expected = hints.get(name)
        if kind is inspect.Parameter.VAR_POSITIONAL:
            bound.arguments[name] = tuple(convert(v, expected, name) for v in value)
        elif kind is inspect.Parameter.VAR_KEYWORD:
            bound.arguments[name] = {k: convert(v, expected, k) for k, v in value.items()}
        else:
            bound.arguments[name] = convert(value, expected, name)
    return bound.args, bound.kwargs


def parameter_types(func: Any) -> dict[str, Any]:
    """The annotated parameter types of ``func``; unresolvable annotations mean any type."""
    try:
        return typing.get_type_hints(func)
    except Exception:
        return {
            name: p.annotation
            for name, p in inspect.signature(func).parameters.items()
            if p.annotation is not inspect.Parameter.empty and not isinstance(p.annotation, str)
        }


def type_name(expected: Any) -> str:
    """A short, readable name for a type: ``int``, ``list[date]``, ``Optional[Path]``."""
    if expected is None or expected is Any:
        return "any value"
    if isinstance(expected, type) and get_origin(expected) is None:
        return expected.__qualname__
    return re.sub(r"\b(?:[A-Za-z_]\w*\.)+([A-Za-z_])", r"\1", str(expected))


class Invalid(ValueError):
    """A value a hook cannot convert; ``hint`` says what would do."""

    def __init__(self, value: Any, what: str, hint: str = "") -> None:
        super().__init__(f"{short_repr(value)} is not {what}" + (f" ({hint})" if hint else ""))
        self.hint = hint


def _detail(error: BaseException) -> str:
    """Where and why a conversion failed, in a few words; at the top level, only a hint."""
    if isinstance(error, Invalid):
        return error.hint
    if _is_cattrs_error(error, "BaseValidationError"):
        import cattrs

        messages = cattrs.transform_error(error, path="", format_exception=_reason)
        return "; ".join(m.removesuffix(" @ ").replace(" @ ", " at ", 1) for m in messages[:3])
    return _reason(error, None)


def _reason(error: BaseException, _: Any) -> str:
    if _is_cattrs_error(error, "StructureHandlerNotFoundError"):
        kind = getattr(error, "type_", None)
        return f"values of type {type_name(kind)} cannot be given on the command line"
    if isinstance(error, KeyError):
        return f"missing key {error}"
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


# Scalar hooks: each accepts a value already of its type, or text that reads as one. cattrs
# dispatches int, float and str hooks to their subclasses too, so enums based on them are
# passed on to the enum hook.

def _int(value: Any, cls: Any) -> Any:
    if cls is not int:
        return _enum(value, cls)
    if type(value) is int:
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise Invalid(value, "an integer")


def _float(value: Any, cls: Any) -> Any:
    if cls is not float:
        return _enum(value, cls)
    if type(value) in (int, float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise Invalid(value, "a number")


def _str(value: Any, cls: Any) -> Any:
    if cls is not str:
        return _enum(value, cls)
    if isinstance(value, str):
        return value
    raise Invalid(value, "a string")


def _bool(value: Any, _: Any) -> bool:
    if type(value) is bool:
        return value
    text = str(value).strip().lower() if isinstance(value, (str, int)) else None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise Invalid(value, "a boolean", "use true/false, yes/no or 1/0")


def _date(value: Any, _: Any) -> dt.date:
    if type(value) is dt.date:
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise Invalid(value, "a date", "use YYYY-MM-DD")


def _datetime(value: Any, _: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value.strip())
        except ValueError:
            pass
    raise Invalid(value, "a date and time", "use ISO 8601: YYYY-MM-DDTHH:MM:SS")


def _path(value: Any, cls: Any) -> Any:
    if isinstance(value, (str, PurePath)):
        return cls(value)
    raise Invalid(value, "a path")


def _enum(value: Any, cls: Any) -> Any:
    """Members are found by value, then by name (``red`` or ``RED`` for ``RED = "red"``)."""
    if isinstance(value, cls):
        return value
    try:
        return cls(value)
    except (ValueError, TypeError):
        pass
    if isinstance(value, str) and value in cls.__members__:
        return cls.__members__[value]
    choices = ", ".join(str(m.value) for m in cls)
    raise Invalid(value, cls.__name__, f"one of {choices}")


def _is_literal(expected: Any) -> bool:
    return get_origin(expected) is Literal


def _literal_hook(expected: Any) -> Callable[[Any, Any], Any]:
    choices = get_args(expected)

    def structure(value: Any, _: Any) -> Any:
        for choice in choices:
            if value == choice and type(value) is type(choice):
                return choice
        raise Invalid(value, type_name(expected), "one of " + ", ".join(map(repr, choices)))

    return structure


def _is_enum(expected: Any) -> bool:
    return isinstance(expected, type) and issubclass(expected, enum.Enum)


def _is_union(expected: Any) -> bool:
    return get_origin(expected) in (Union, types.UnionType)


def _union_hook(expected: Any) -> Callable[[Any, Any], Any]:
    """Try the members in their declared order; ``None`` only matches ``NoneType``."""
    members = get_args(expected)

    def structure(value: Any, _: Any) -> Any:
        for member in members:
            if member is type(None) or value is None:
                if value is None and member in (type(None), Any):
                    return None
                continue
            try:
                return structure_as(value, member)
            except Exception:
                continue
        raise Invalid(value, type_name(expected))

    return structure


_SEQUENCES = (list, tuple, set, frozenset, abc.Sequence, abc.MutableSequence, abc.Set,
              abc.MutableSet, abc.Collection, abc.Iterable)
_MAPPINGS = (dict, abc.Mapping, abc.MutableMapping)


def _container_kind(expected: Any) -> type | None:
    """``list`` or ``dict``: the JSON shape a container type (or an attrs class, a JSON
    object) must be given as."""
    import attrs

    if isinstance(expected, type) and attrs.has(expected):
        return dict
    origin = get_origin(expected) or expected
    if origin in _SEQUENCES:
        return list
    if origin in _MAPPINGS:
        return dict
    return None


class _ShapeChecks:
    """Containers only from JSON arrays and objects (cattrs would split ``"ab"`` into a list).

    The factory wraps the hook cattrs makes for the type; while it asks for that hook its own
    predicate steps aside for that type.
    """

    def __init__(self, converter: cattrs.Converter) -> None:
        self.converter = converter
        self.making: set[Any] = set()

    def applies(self, expected: Any) -> bool:
        return expected not in self.making and _container_kind(expected) is not None

    def factory(self, expected: Any) -> Callable[[Any, Any], Any]:
        kind = _container_kind(expected)
        self.making.add(expected)
        try:
            inner = self.converter.get_structure_hook(expected, cache_result=False)
        finally:
            self.making.discard(expected)
        shapes = (list, tuple) if kind is list else (dict,)
        what = "a JSON array" if kind is list else "a JSON object"

        def structure(value: Any, cls: Any) -> Any:
            if not isinstance(value, shapes):
                raise Invalid(value, what)
            return inner(value, cls)

        return structure


_SCALARS: dict[Any, Callable[[Any, Any], Any]] = {
    int: _int, float: _float, bool: _bool, str: _str, dt.date: _date, dt.datetime: _datetime,
    PurePath: _path, Path: _path}
"""The hooks of the scalar types (cattrs also gives them their subclasses)."""


def make_converter() -> cattrs.Converter:
    """A cattrs converter with tasktronaut's command-line hooks."""
    import cattrs

    converter = cattrs.Converter(detailed_validation=True, forbid_extra_keys=True)
    for cls, hook in _SCALARS.items():
        converter.register_structure_hook(cls, hook)
    converter.register_structure_hook_func(_is_enum, _enum)
    converter.register_structure_hook_factory(_is_union, _union_hook)
    converter.register_structure_hook_factory(_is_literal, _literal_hook)
    shapes = _ShapeChecks(converter)
    converter.register_structure_hook_factory(shapes.applies, shapes.factory)
    return converter



@functools.cache
def converter() -> cattrs.Converter:
    """The converter of the command line, made on first use (importing cattrs costs)."""
    return make_converter()

