"""Completion records: which steps of which process finished, and with what result.

A state store maps a process identifier to the steps recorded as completed, each with its
result. :class:`MemoryStore` (the default) lives as long as the object; :class:`SQLiteStore`
keeps the records in a SQLite file, so a later run with the same identifier can resume.

Design choices of the SQLite store:

- **One transaction per completion.** :meth:`SQLiteStore.record` returns only after its single
  ``INSERT`` has committed, so a completion that was reported is on disk.
- **WAL journal, ``synchronous=FULL`` by default.** In WAL mode a committed transaction
  survives the death of the process (``kill -9``) already at ``synchronous=NORMAL``: it is in
  the WAL file, and the next connection recovers it. Only a power loss or an operating-system
  crash can undo the last commits at ``NORMAL``. ``FULL`` adds one ``fsync`` of the WAL per
  completion, which is small next to the work a step does, and in exchange a reported
  completion also survives a power loss. ``synchronous="NORMAL"`` is there for stores that
  record many tiny steps and can afford to redo the last few after a power cut.
- **Concurrency.** Readers never wait for the writer (WAL). Writers from several threads or
  processes queue on SQLite's lock with a busy timeout (30 s by default) and, if that runs
  out, a few retries with a growing pause before :class:`StateError` is raised.
- **A connection per thread** (``threading.local``), because the engine records from worker
  threads and a SQLite connection must not be used by two threads at once. A process that was
  forked from one holding the store opens connections of its own and never touches the
  inherited ones.
- **Results are stored with their encoding** (``json`` or ``pickle``) on every row, so a file
  written with one serializer is still readable with the other.
- **Versioned schema** in a ``meta`` table; a file from a newer schema is refused rather than
  misread.
"""

from __future__ import annotations

import enum
import json
import os
import pickle
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol, TypeAlias, TypeVar, runtime_checkable

import attrs

from tasktronaut.errors import ArgumentError, TasktronautError

DEFAULT_STATE_PATH = Path(".tasktronaut/state.db")
"""The conventional location of a state file, relative to the working directory."""

SCHEMA_VERSION = 1
"""The version of the SQLite schema this module reads and writes."""

_T = TypeVar("_T")

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS completions ("
    " process_id TEXT NOT NULL,"
    " step TEXT NOT NULL,"
    " result BLOB,"
    " encoding TEXT NOT NULL,"
    " recorded_at REAL NOT NULL,"
    " PRIMARY KEY (process_id, step))",
)
_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6


class StateError(TasktronautError):
    """A state store could not record or read completions.

    ``process_id``, ``step`` and ``value_type`` are set when the error concerns one record
    (for instance a result that cannot be serialised).
    """

    def __init__(
        self,
        message: str,
        *,
        process_id: str | None = None,
        step: str | None = None,
        value_type: type | None = None,
    ) -> None:
        super().__init__(message)
        self.process_id = process_id
        self.step = step
        self.value_type = value_type


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


def _to_enum(kind: type[enum.Enum], name: str, value: Any) -> Any:
    if isinstance(value, kind):
        return value
    for member in kind:
        if isinstance(value, str) and value.lower() == member.value.lower():
            return member
    choices = ", ".join(repr(m.value) for m in kind)
    raise ArgumentError(f"{name} must be one of {choices}, got {value!r}", name=name, value=value)


def _check_name(kind: str, value: Any) -> None:
    if not isinstance(value, str):
        raise ArgumentError(f"{kind} must be a string, got {value!r}", name=kind, value=value)


def _timestamp(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)


def _type_name(value: Any) -> str:
    kind = type(value)
    if kind.__module__ == "builtins":
        return kind.__qualname__
    return f"{kind.__module__}.{kind.__qualname__}"


class MemoryStore:
    """Records in a dict, for one run. Thread-safe; results are kept as they are (no copy)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, dict[str, tuple[Any, float]]] = {}

    def __repr__(self) -> str:
        return "MemoryStore()"

    def __enter__(self) -> MemoryStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def completed(self, process_id: str) -> dict[str, Any]:
        _check_name("process_id", process_id)
        with self._lock:
            steps = self._records.get(process_id, {})
            return {step: result for step, (result, _) in steps.items()}

    def record(self, process_id: str, step: str, result: Any) -> None:
        _check_name("process_id", process_id)
        _check_name("step", step)
        with self._lock:
            steps = self._records.setdefault(process_id, {})
            steps.pop(step, None)  # a re-recorded step moves to the end, as in SQLiteStore
            steps[step] = (result, time.time())

    def forget(self, process_id: str, step: str | None = None) -> int:
        _check_name("process_id", process_id)
        with self._lock:
            steps = self._records.get(process_id, {})
            if step is None:
                self._records.pop(process_id, None)
                return len(steps)
            removed = int(steps.pop(step, None) is not None)
            if not steps:
                self._records.pop(process_id, None)
            return removed

    def processes(self) -> list[ProcessSummary]:
        with self._lock:
            return [
                ProcessSummary(pid, len(steps), _timestamp(max(t for _, t in steps.values())))
                for pid, steps in sorted(self._records.items())
                if steps
            ]

    def close(self) -> None:
        """Nothing to release: the records stay readable as long as the object lives."""


class _Holder:
    """One thread's connection; weakly referenced so a finished thread's connection goes."""

    __slots__ = ("__weakref__", "conn")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _pause(attempt: int) -> None:
    """Wait before retry ``attempt`` (1, 2, ...) of a locked operation."""
    time.sleep(min(0.05 * 2 ** (attempt - 1), 2.0))


class SQLiteStore:
    """Records in a SQLite file that survives crashes and can be shared by processes.

    Args:
        path: The database file; missing parent directories are created.
        serializer: ``"json"`` (default) or ``"pickle"`` (any picklable result; only open
            files you trust).
        timeout: Seconds a connection waits for another writer's lock (SQLite busy timeout).
        retries: How many more times a locked operation is tried after the timeout ran out.
        synchronous: ``"FULL"`` (default: a reported completion survives a power loss) or
            ``"NORMAL"`` (survives a killed process only).

    Raises:
        StateError: The file cannot be opened, is not a tasktronaut state file, or was
            written by a newer schema.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        serializer: Serializer | str = Serializer.JSON,
        *,
        timeout: float = 30.0,
        retries: int = 5,
        synchronous: Synchronous | str = Synchronous.FULL,
    ) -> None:
        if os.fspath(path) in ("", ":memory:"):
            raise ArgumentError(
                f"SQLiteStore needs a file path, got {os.fspath(path)!r} (use MemoryStore)",
                name="path",
                value=path,
            )
        self.path = Path(path)
        self.serializer: Serializer = _to_enum(Serializer, "serializer", serializer)
        self.synchronous: Synchronous = _to_enum(Synchronous, "synchronous", synchronous)
        if timeout < 0 or not isinstance(retries, int) or retries < 0:
            raise ArgumentError(
                f"timeout and retries must be >= 0, got {timeout!r} and {retries!r}",
                name="timeout" if timeout < 0 else "retries",
                value=timeout if timeout < 0 else retries,
            )
        self.timeout = float(timeout)
        self.retries = retries
        self._closed = False
        self._inherited: list[object] = []
        self._reset_connections()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StateError(f"Cannot create the folder of state file {self.path}: {exc}") from exc
        try:
            self._run(self._initialise)
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r}, serializer={self.serializer.value!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Connections cannot travel to another process; the copy opens its own.
        options = (self.timeout, self.retries, self.synchronous.value)
        return (_reopen, (str(self.path), self.serializer.value, *options))

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def completed(self, process_id: str) -> dict[str, Any]:
        _check_name("process_id", process_id)
        query = "SELECT step, result, encoding FROM completions WHERE process_id = ? ORDER BY rowid"
        rows = self._run(lambda conn: conn.execute(query, (process_id,)).fetchall())
        return {step: self._decode(process_id, step, data, enc) for step, data, enc in rows}

    def record(self, process_id: str, step: str, result: Any) -> None:
        _check_name("process_id", process_id)
        _check_name("step", step)
        data = self._encode(process_id, step, result)
        # One statement in autocommit mode: one transaction, committed before we return.
        # INSERT OR REPLACE gives a re-recorded step a new rowid, so it sorts last.
        row = (process_id, step, data, self.serializer.value, time.time())
        self._run(
            lambda conn: conn.execute(
                "INSERT OR REPLACE INTO completions"
                " (process_id, step, result, encoding, recorded_at) VALUES (?, ?, ?, ?, ?)",
                row,
            )
        )

    def forget(self, process_id: str, step: str | None = None) -> int:
        _check_name("process_id", process_id)
        sql = "DELETE FROM completions WHERE process_id = ?"
        args: tuple[str, ...] = (process_id,)
        if step is not None:
            _check_name("step", step)
            sql += " AND step = ?"
            args += (step,)
        return self._run(lambda conn: conn.execute(sql, args).rowcount)

    def processes(self) -> list[ProcessSummary]:
        query = (
            "SELECT process_id, COUNT(*), MAX(recorded_at) FROM completions"
            " GROUP BY process_id ORDER BY process_id"
        )
        rows = self._run(lambda conn: conn.execute(query).fetchall())
        return [ProcessSummary(pid, count, _timestamp(last)) for pid, count, last in rows]

    def close(self) -> None:
        """Close the connections of all threads. Call it once no thread uses the store."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            holders = list(self._holders)
            self._holders.clear()
        for holder in holders:
            holder.conn.close()

    # -- serialisation -------------------------------------------------------------------

    def _encode(self, process_id: str, step: str, result: Any) -> str | bytes:
        try:
            if self.serializer is Serializer.JSON:
                return json.dumps(result)
            return pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            hint = (
                'return JSON data, or open the store with serializer="pickle"'
                if self.serializer is Serializer.JSON
                else "return a picklable value"
            )
            raise StateError(
                f"Cannot record the result of step '{step}' of process '{process_id}': "
                f"a {_type_name(result)} cannot be serialised as {self.serializer.value} "
                f"({exc}); {hint}",
                process_id=process_id,
                step=step,
                value_type=type(result),
            ) from exc

    def _decode(self, process_id: str, step: str, data: Any, encoding: str) -> Any:
        try:
            if encoding == Serializer.PICKLE.value:
                return pickle.loads(data)
            if encoding == Serializer.JSON.value:
                return json.loads(data)
            problem: Exception = ValueError(f"unknown encoding {encoding!r}")
        except Exception as exc:
            problem = exc
        raise StateError(
            f"Cannot read the result of step '{step}' of process '{process_id}' "
            f"from {self.path}: {problem}",
            process_id=process_id,
            step=step,
        ) from problem

    # -- connections ---------------------------------------------------------------------

    def _reset_connections(self) -> None:
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._local = threading.local()
        self._holders: weakref.WeakSet[_Holder] = weakref.WeakSet()

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise StateError(f"State store {self.path} is closed")
        if self._pid != os.getpid():
            # Forked: the inherited connections belong to the parent. Keep them referenced
            # (closing one here could disturb the parent's use of the file) and start afresh.
            self._inherited.append((self._holders, self._local))
            self._reset_connections()
        holder: _Holder | None = getattr(self._local, "holder", None)
        if holder is None:
            holder = _Holder(self._connect())
            self._local.holder = holder
            with self._lock:
                self._holders.add(holder)
        return holder.conn

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: autocommit, so every statement is its own transaction unless
        # we open one explicitly. check_same_thread=False only so that close() can close the
        # connections of other threads; each connection is otherwise used by its thread only.
        conn = sqlite3.connect(
            self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute(f"PRAGMA synchronous={self.synchronous.value}")
        except BaseException:
            conn.close()
            raise
        return conn

    def _run(self, operation: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``operation`` on this thread's connection, retrying while the file is locked."""
        for attempt in range(self.retries + 1):
            conn: sqlite3.Connection | None = None
            try:
                conn = self._connection()
                return operation(conn)
            except sqlite3.OperationalError as exc:
                if conn is not None and conn.in_transaction:
                    conn.rollback()
                if not _is_busy(exc):
                    raise StateError(f"State file {self.path}: {exc}") from exc
                if attempt == self.retries:
                    raise StateError(
                        f"State file {self.path} is locked by another writer "
                        f"(gave up after {attempt + 1} attempts of {self.timeout:g}s): {exc}"
                    ) from exc
            except sqlite3.DatabaseError as exc:
                raise StateError(f"State file {self.path}: {exc}") from exc
            _pause(attempt + 1)
        raise AssertionError("unreachable")  # pragma: no cover

    def _initialise(self, conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA journal_mode=WAL")  # persistent: recorded in the file itself
        version = self._schema_version(conn)
        if version is None:
            conn.execute("BEGIN IMMEDIATE")  # two processes may create the file at once
            try:
                for statement in _SCHEMA:
                    conn.execute(statement)
                conn.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
                version = self._schema_version(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.rollback()
                raise
        if version != SCHEMA_VERSION:
            raise StateError(
                f"State file {self.path} has schema version {version}; this version of "
                f"tasktronaut reads version {SCHEMA_VERSION}"
            )

    @staticmethod
    def _schema_version(conn: sqlite3.Connection) -> int | None:
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return None
            raise
        return None if row is None else int(row[0])


def _reopen(path: str, serializer: str, timeout: float, retries: int, sync: str) -> SQLiteStore:
    return SQLiteStore(path, serializer, timeout=timeout, retries=retries, synchronous=sync)


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
