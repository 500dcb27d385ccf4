"""The SQLite store: completion records in a file that survives crashes and is shared.

Design choices:

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
- **A connection per thread** (:class:`~tasktronaut.state.connections.ThreadConnections`),
  because the engine records from worker threads and a SQLite connection must not be used by
  two threads at once. A process that was forked from one holding the store opens connections
  of its own and never touches the inherited ones.
- **Results are stored with their encoding** (``json`` or ``pickle``) on every row, so a file
  written with one serializer is still readable with the other.
- **Careful opening** (see :mod:`tasktronaut.state.schema`): a file that is not ours is
  refused before anything is written to it; an older schema is migrated, a newer one refused.
- **Leases and arguments** live in tables of their own; recording a completion stays one
  ``INSERT``.
"""


from __future__ import annotations

import json
import os
import pickle
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from tasktronaut.errors import ArgumentError
from tasktronaut.state import schema
from tasktronaut.state.base import (
    ProcessSummary,
    Serializer,
    StateError,
    Synchronous,
    check_name,
    timestamp,
    to_enum,
    type_name,
)
from tasktronaut.state.connections import ThreadConnections
from tasktronaut.state.runs import RunTables, transaction

_T = TypeVar("_T")
_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _pause(attempt: int) -> None:
    """Wait before retry ``attempt`` (1, 2, ...) of a locked operation."""
    time.sleep(min(0.05 * 2 ** (attempt - 1), 2.0))


class SQLiteStore(RunTables):
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
        self.serializer: Serializer = to_enum(Serializer, "serializer", serializer)
        self.synchronous: Synchronous = to_enum(Synchronous, "synchronous", synchronous)
        if timeout < 0 or not isinstance(retries, int) or retries < 0:
            raise ArgumentError(
                f"timeout and retries must be >= 0, got {timeout!r} and {retries!r}",
                name="timeout" if timeout < 0 else "retries",
                value=timeout if timeout < 0 else retries,
            )
        self.timeout = float(timeout)
        self.retries = retries
        self._connections = ThreadConnections(self.path, self.timeout, self.synchronous)
        try:
            self._open_file()
            self._run(lambda conn: schema.upgrade(conn, self.path))
        except BaseException:
            self.close()
            raise
        self._file = _opened_files.add(self.path)

    def _open_file(self) -> None:
        """Create the file if there is none; refuse one that is not ours (writing nothing)."""
        if not self.path.exists():
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StateError(
                    f"Cannot create the folder of state file {self.path}: {exc}") from exc
            if schema.create(self.path):
                return
        if not _opened_files.holds(self.path):
            schema.inspect(self.path)

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
        check_name("process_id", process_id)
        query = "SELECT step, result, encoding FROM completions WHERE process_id = ? ORDER BY rowid"
        rows = self._run(lambda conn: conn.execute(query, (process_id,)).fetchall())
        return {step: self._decode(process_id, step, data, enc) for step, data, enc in rows}

    def record(self, process_id: str, step: str, result: Any) -> None:
        check_name("process_id", process_id)
        check_name("step", step)
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
        check_name("process_id", process_id)
        if step is not None:
            check_name("step", step)
            sql, args = "DELETE FROM completions WHERE process_id = ? AND step = ?", (
                process_id, step)
            return self._run(lambda conn: conn.execute(sql, args).rowcount)

        def forget_all(conn: sqlite3.Connection) -> int:
            conn.execute("DELETE FROM runs WHERE process_id = ?", (process_id,))
            conn.execute("DELETE FROM last_runs WHERE process_id = ?", (process_id,))
            return int(conn.execute("DELETE FROM completions WHERE process_id = ?",
                                    (process_id,)).rowcount)

        return self._run(lambda conn: transaction(conn, forget_all))

    def processes(self) -> list[ProcessSummary]:
        query = (
            "SELECT process_id, COUNT(*), MAX(recorded_at) FROM completions"
            " GROUP BY process_id ORDER BY process_id"
        )
        rows = self._run(lambda conn: conn.execute(query).fetchall())
        return [ProcessSummary(pid, count, timestamp(last)) for pid, count, last in rows]

    def close(self) -> None:
        """Close the connections of all threads. Call it once no thread uses the store."""
        self._connections.close()
        _opened_files.remove(getattr(self, "_file", None))

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
                f"a {type_name(result)} cannot be serialised as {self.serializer.value} "
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

    def _run(self, operation: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``operation`` on this thread's connection, retrying while the file is locked."""
        for attempt in range(self.retries + 1):
            conn: sqlite3.Connection | None = None
            try:
                conn = self._connections.get()
                return operation(conn)
            except sqlite3.OperationalError as exc:
                if conn is not None and conn.in_transaction:
                    conn.rollback()
                if not _is_busy(exc):
                    text = str(exc).lower()
                    unwritable = "readonly" in text or "full" in text
                    raise StateError(f"State file {self.path}"
                                     f"{' cannot be written' if unwritable else ''}: {exc}"
                                     ) from exc
                if attempt == self.retries:
                    raise StateError(
                        f"State file {self.path} is locked by another writer "
                        f"(gave up after {attempt + 1} attempts of {self.timeout:g}s): {exc}"
                    ) from exc
            except sqlite3.DatabaseError as exc:
                raise StateError(f"State file {self.path}: {exc}") from exc
            _pause(attempt + 1)
        raise AssertionError("unreachable")  # pragma: no cover


class _OpenedFiles:
    """The state files that stores of this process hold open, by device and inode.

    Reading a file's header with ``open()`` and closing it drops every POSIX lock this
    process holds on the file, including SQLite's: another process may then take the file for
    unused and delete its WAL index under the connections of this one ("disk I/O error").
    A file that a store of this process holds open was recognised when that store opened
    it, so it is not read again.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[int, int], int] = {}

    @staticmethod
    def _key(path: Path) -> tuple[int, int] | None:
        try:
            found = path.stat()
        except OSError:
            return None
        return (found.st_dev, found.st_ino)

    def holds(self, path: Path) -> bool:
        key = self._key(path)
        with self._lock:
            return key is not None and self._counts.get(key, 0) > 0

    def add(self, path: Path) -> tuple[int, int] | None:
        key = self._key(path)
        if key is not None:
            with self._lock:
                self._counts[key] = self._counts.get(key, 0) + 1
        return key

    def remove(self, key: tuple[int, int] | None) -> None:
        if key is None:
            return
        with self._lock:
            left = self._counts.get(key, 0) - 1
            if left > 0:
                self._counts[key] = left
            else:
                self._counts.pop(key, None)


_opened_files = _OpenedFiles()


def _reopen(path: str, serializer: str, timeout: float, retries: int, sync: str) -> SQLiteStore:
    return SQLiteStore(path, serializer, timeout=timeout, retries=retries, synchronous=sync)


