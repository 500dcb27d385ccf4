"""What every state store shares: the protocol, the error, summaries and small helpers."""

from __future__ import annotations

import enum
from datetime import datetime, timezone
from typing import Any, Protocol, runtime_checkable

import attrs

from tasktronaut.errors import ArgumentError
from tasktronaut.errors import StateError as StateError  # its home before errors.py


@attrs.frozen
class ProcessSummary:
    """What a store holds about one process identifier."""

    process_id: str
    steps: int
    """How many steps are recorded as completed."""
    last_update: datetime
    """When the most recent completion was recorded (timezone-aware, UTC)."""


@runtime_checkable
class StateStore(Protocol):
    """Completion records per process identifier, with results."""

    def completed(self, process_id: str) -> dict[str, Any]:
        """Step name -> result, for the steps of ``process_id`` recorded as completed."""
        ...

    def record(self, process_id: str, step: str, result: Any) -> None:
        """Record ``step`` of ``process_id`` as completed with ``result`` (replacing any)."""
        ...

    def forget(self, process_id: str, step: str | None = None) -> int:
        """Remove one step's record, or all of the process's; return how many were removed."""
        ...

    def processes(self) -> list[ProcessSummary]:
        """A summary per process identifier that has records, ordered by identifier."""
        ...

    def close(self) -> None:
        """Release the store's resources."""
        ...


class Serializer(enum.Enum):
    """How :class:`SQLiteStore` turns results into bytes."""

    JSON = "json"
    """JSON data only; tuples come back as lists and dict keys as strings."""
    PICKLE = "pickle"
    """Any picklable object. Only load state files you trust: unpickling runs code."""


class Synchronous(enum.Enum):
    """SQLite's ``synchronous`` setting: what a commit waits for (see the module docstring)."""

    NORMAL = "NORMAL"
    """Survives a killed process; a power loss may undo the last commits."""
    FULL = "FULL"
    """Survives a killed process and a power loss."""


def to_enum(kind: type[enum.Enum], name: str, value: Any) -> Any:
    if isinstance(value, kind):
        return value
    for member in kind:
        if isinstance(value, str) and value.lower() == member.value.lower():
            return member
    choices = ", ".join(repr(m.value) for m in kind)
    raise ArgumentError(f"{name} must be one of {choices}, got {value!r}", name=name, value=value)


def check_name(kind: str, value: Any) -> None:
    if not isinstance(value, str):
        raise ArgumentError(f"{kind} must be a string, got {value!r}", name=kind, value=value)


def timestamp(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)


def type_name(value: Any) -> str:
    kind = type(value)
    if kind.__module__ == "builtins":
        return kind.__qualname__
    return f"{kind.__module__}.{kind.__qualname__}"


NAMESPACES = ("cache:", "fresh:")
"""Record identifiers that are not process identifiers: cached results of steps and tasks
(``cache:``) and the fingerprints of ``stale_if="changed"`` tasks (``fresh:``)."""
