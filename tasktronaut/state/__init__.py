"""Completion records: which steps of which process finished, and with what result.

A state store maps a process identifier to the steps recorded as completed, each with its
result. :class:`MemoryStore` (the default) lives as long as the object; :class:`SQLiteStore`
keeps the records in a SQLite file, so a later run with the same identifier can resume.

Besides the records, the stores that come with tasktronaut keep, per identifier, the
arguments its records were made with (:mod:`~tasktronaut.state.fingerprint`) and the lease of
the run working on it (:mod:`~tasktronaut.state.leases`). A store of your own needs only the
five methods of :class:`StateStore`; runs then go without those checks.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from tasktronaut.state.base import (
        NAMESPACES,
        ProcessSummary,
        Serializer,
        StateError,
        StateStore,
        Synchronous,
    )
    from tasktronaut.state.leases import DEFAULT_TTL, Lease, LeaseError
    from tasktronaut.state.memory import MemoryStore
    from tasktronaut.state.schema import APPLICATION_ID, SCHEMA_VERSION
    from tasktronaut.state.sqlite import SQLiteStore

__all__ = [
    "APPLICATION_ID",
    "DEFAULT_STATE_PATH",
    "DEFAULT_TTL",
    "NAMESPACES",
    "SCHEMA_VERSION",
    "Lease",
    "LeaseError",
    "MemoryStore",
    "ProcessSummary",
    "SQLiteStore",
    "Serializer",
    "StateError",
    "StateSpec",
    "StateStore",
    "Synchronous",
    "open_store",
]

DEFAULT_STATE_PATH = Path(".tasktronaut/state.db")
"""The conventional location of a state file, relative to the working directory."""

_MODULES = {
    "base": "NAMESPACES ProcessSummary Serializer StateError StateStore Synchronous",
    "leases": "DEFAULT_TTL Lease LeaseError",
    "memory": "MemoryStore",
    "schema": "APPLICATION_ID SCHEMA_VERSION",
    "sqlite": "SQLiteStore",
}
_LAZY = {name: module for module, names in _MODULES.items() for name in names.split()}
"""Where each name lives: its module (sqlite3, attrs) loads on first use, so that a run that
keeps no state, or a module that only needs :mod:`~tasktronaut.state.fingerprint`, never
loads the stores."""


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tasktronaut.state' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"tasktronaut.state.{module}"), name)
    globals()[name] = value
    return value


StateSpec: TypeAlias = "StateStore | str | os.PathLike[str] | None"
"""What ``open_store`` accepts: ``None``, a path, or a store object."""


def open_store(spec: StateSpec = None) -> StateStore:
    """The store ``spec`` stands for.

    ``None`` gives a new :class:`MemoryStore`, a path (``str`` or ``os.PathLike``) a
    :class:`SQLiteStore` on that file with default settings, and a store object itself.

    Raises:
        ArgumentError: ``spec`` is none of these.
        StateError: The file cannot be opened as a state file.
    """
    from tasktronaut.errors import ArgumentError
    from tasktronaut.state.base import StateStore
    from tasktronaut.state.memory import MemoryStore
    from tasktronaut.state.sqlite import SQLiteStore

    if spec is None:
        return MemoryStore()
    if isinstance(spec, (str, os.PathLike)):
        return SQLiteStore(spec)
    if isinstance(spec, StateStore):
        return spec
    raise ArgumentError(
        f"state must be None, a file path or a state store, got {spec!r}",
        name="state",
        value=spec,
    )
