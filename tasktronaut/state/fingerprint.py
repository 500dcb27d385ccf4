"""Canonical text and fingerprints of values: record keys of ``each`` items, the arguments a
process identifier's records were made with, and the inputs of a ``stale_if="changed"`` task.

The text must be the same for equal values in every run and on every machine, so it is JSON
with sorted keys and no spaces; values JSON cannot hold are written in a stable form of their
own (a path as its text, a date as ISO 8601, a set sorted). Any other object is written with
``repr``, or, when that shows a memory address (which changes from run to run), as its type
alone; give ``each`` items holding such objects a key of your own.
"""

from __future__ import annotations

import datetime as _dt
import enum
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from json.encoder import encode_basestring as _encode_string
from typing import Any

MAX_KEY_LENGTH = 120
"""Canonical texts longer than this become a short digest in record keys."""


def _portable(value: Any) -> Any:
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return _portable(value.value)
    if isinstance(value, (set, frozenset)):
        return sorted(canonical(v) for v in value)
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, bytes):
        return value.hex()
    text = repr(value)
    if " at 0x" in text:  # an address changes from run to run: only the type is stable
        kind = type(value)
        return f"<{kind.__module__}.{kind.__qualname__}>"
    return text


def canonical(value: Any) -> str:
    """The canonical JSON text of ``value`` (sorted keys, no spaces)."""
    if type(value) is dict:  # the common each item: a small dict of plain values
        text = _flat(value)
        if text is not None:
            return text
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=_portable)


_PLAIN: dict[type, Callable[[Any], str]] = {
    int: str, str: _encode_string, bool: lambda v: "true" if v else "false",
    type(None): lambda v: "null"}


def _flat(value: dict[Any, Any]) -> str | None:
    """``json.dumps`` of a dict of strings, whole numbers, booleans and None, written
    directly (the same text, several times faster); ``None`` for anything else."""
    parts = []
    for key in sorted(value) if len(value) > 1 else value:
        item = value[key]
        encode = _PLAIN.get(type(item))
        if encode is None or type(key) is not str:
            return None
        parts.append(f"{_encode_string(key)}:{encode(item)}")
    return "{" + ",".join(parts) + "}"


def digest(text: str) -> str:
    """A short, stable digest of ``text`` (16 hex digits of SHA-256)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def item_key(value: Any) -> str:
    """The record-key segment of an ``each`` item: its canonical text, or a digest of it
    when that is long."""
    text = value if isinstance(value, str) else canonical(value)
    return text if len(text) <= MAX_KEY_LENGTH else f"#{digest(text)}"


def arguments_of(kwargs: Mapping[str, Any], options: Mapping[str, Any]) -> dict[str, str]:
    """What identifies a process's run: each argument and option as canonical text."""
    found = {name: canonical(value) for name, value in kwargs.items()}
    found.update({f"option {name}": canonical(value) for name, value in options.items()})
    return dict(sorted(found.items()))


def fingerprint(arguments: Mapping[str, str]) -> str:
    """The fingerprint of :func:`arguments_of`'s result."""
    return digest(canonical(dict(arguments)))


def differences(before: Mapping[str, str], now: Mapping[str, str]) -> list[str]:
    """``name=old (now new)`` for each argument that differs, in name order."""
    out = []
    for name in sorted(set(before) | set(now)):
        old, new = before.get(name), now.get(name)
        if old != new:
            out.append(f"{name}={old if old is not None else '(none)'} "
                       f"(now {new if new is not None else '(none)'})")
    return out
