"""The tables of a SQLite state file beside the records: the arguments each identifier's
records were made with, and run leases. Mixed into :class:`~tasktronaut.state.sqlite.
SQLiteStore`, whose ``_run`` (retries on a locked file) and ``synchronous`` they use."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from typing import Any, TypeVar

from tasktronaut.state.base import StateError, Synchronous
from tasktronaut.state.fingerprint import fingerprint
from tasktronaut.state.leases import DEFAULT_TTL, Lease

_T = TypeVar("_T")


class RunTables:
    """Arguments, leases and the writable check of a SQLite store."""

    path: Any
    synchronous: Synchronous

    def _run(self, operation: Callable[[sqlite3.Connection], _T]) -> _T:
        raise NotImplementedError  # pragma: no cover - SQLiteStore provides it

    def revision(self, process_id: str) -> tuple[int, int]:
        """What changes whenever a record of ``process_id`` is added, replaced or removed
        (a replaced record gets a new rowid)."""
        query = "SELECT COUNT(*), COALESCE(MAX(rowid), 0) FROM completions WHERE process_id = ?"
        row = self._run(lambda conn: conn.execute(query, (process_id,)).fetchone())
        return int(row[0]), int(row[1])

    def arguments(self, process_id: str) -> dict[str, str] | None:
        """The arguments the records of ``process_id`` were made with (None: not known)."""
        found = self._json("SELECT arguments FROM runs WHERE process_id = ?", process_id,
                           "arguments")
        return None if found is None else {str(k): str(v) for k, v in found.items()}

    def set_arguments(self, process_id: str, arguments: dict[str, str]) -> None:
        """Say which arguments the records of ``process_id`` are made with."""
        text = json.dumps(dict(arguments), sort_keys=True)
        row = (process_id, fingerprint(arguments), text, time.time())
        self._run(lambda conn: conn.execute(
            "INSERT OR REPLACE INTO runs (process_id, fingerprint, arguments, recorded_at)"
            " VALUES (?, ?, ?, ?)", row))

    def keep_run(self, process_id: str, record: dict[str, Any]) -> None:
        """Keep ``record`` (JSON-able) as the last run of ``process_id``."""
        row = (process_id, json.dumps(record), time.time())
        self._run(lambda conn: conn.execute(
            "INSERT OR REPLACE INTO last_runs (process_id, record, recorded_at)"
            " VALUES (?, ?, ?)", row))

    def last_run(self, process_id: str) -> dict[str, Any] | None:
        """The record kept for the last run of ``process_id`` (None if none is)."""
        return self._json("SELECT record FROM last_runs WHERE process_id = ?", process_id,
                          "run record")

    def _json(self, query: str, process_id: str, what: str) -> dict[str, Any] | None:
        """The JSON object in the one column ``query`` selects for ``process_id``."""
        row = self._run(lambda conn: conn.execute(query, (process_id,)).fetchone())
        if row is None:
            return None
        try:
            found = json.loads(row[0])
        except ValueError as exc:
            raise StateError(f"State file {self.path}: unreadable {what} of "
                             f"'{process_id}': {exc}", process_id=process_id) from exc
        return found if isinstance(found, dict) else None

    def acquire(self, process_id: str, lease: Lease, ttl: float = DEFAULT_TTL) -> None:
        """Take the lease on ``process_id`` for ``lease``'s owner, or raise ``LeaseError``."""

        def take(conn: sqlite3.Connection) -> None:
            row = conn.execute("SELECT owner, pid, host, started, heartbeat FROM leases"
                               " WHERE process_id = ?", (process_id,)).fetchone()
            if row is not None:
                held = Lease(*row)
                if held.owner != lease.owner and held.holds(ttl):
                    raise held.refusal(process_id)
            conn.execute("INSERT OR REPLACE INTO leases VALUES (?, ?, ?, ?, ?, ?)",
                         (process_id, lease.owner, lease.pid, lease.host, lease.started,
                          time.time()))

        self._run(lambda conn: _light(conn, lambda c: transaction(c, take), self.synchronous))

    def renew(self, process_id: str, owner: str) -> None:
        """Refresh the heartbeat of ``owner``'s lease on ``process_id``."""
        self._run(lambda conn: _light(conn, lambda c: c.execute(
            "UPDATE leases SET heartbeat = ? WHERE process_id = ? AND owner = ?",
            (time.time(), process_id, owner)), self.synchronous))

    def release(self, process_id: str, owner: str) -> None:
        """Give up ``owner``'s lease on ``process_id`` (nothing if another holds it)."""
        self._run(lambda conn: _light(conn, lambda c: c.execute(
            "DELETE FROM leases WHERE process_id = ? AND owner = ?", (process_id, owner)),
            self.synchronous))

    def lease(self, process_id: str) -> Lease | None:
        """The lease recorded on ``process_id``, if any (it may no longer hold)."""
        row = self._run(lambda conn: conn.execute(
            "SELECT owner, pid, host, started, heartbeat FROM leases WHERE process_id = ?",
            (process_id,)).fetchone())
        return None if row is None else Lease(*row)

    def check_writable(self) -> None:
        """Write to the file now, so that a read-only or full store is noticed before any
        work is done rather than after."""
        self._run(lambda conn: conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('last_opened', ?)",
            (repr(time.time()),)))


def _light(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], _T],
           synchronous: Synchronous) -> _T:
    """Run ``work`` without waiting for the disk (``synchronous=OFF``), for writes that need
    no durability of their own: a lease lost to a power cut belongs to a dead run and is
    taken over, and the next recorded completion flushes the whole journal anyway."""
    conn.execute("PRAGMA synchronous=OFF")
    try:
        return work(conn)
    finally:
        conn.execute(f"PRAGMA synchronous={synchronous.value}")


def transaction(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], _T]) -> _T:
    """Run ``work`` in one write transaction (rolled back if it raises)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = work(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise
    return result
