"""The embedded backend: a durable queue of runs in the SQLite state file (no server).

A submitted run is one row in ``bg_runs`` (see :mod:`tasktronaut.background.tables`):
what to build, with which arguments and run settings, and where it stands. A worker takes
the oldest queued run under a lease (owner, pid, host, heartbeat: the same rules as the run
leases of :mod:`tasktronaut.state.leases`); a run whose worker died (its pid is gone on this
host, or its heartbeat is older than the lease's time-to-live) is taken over by the next
worker, which resumes it from the completion records the dead one left.
"""

from __future__ import annotations

import enum
import json
import os
import sqlite3
import time
import uuid
from typing import Any

import attrs

from tasktronaut.background.tables import Database
from tasktronaut.background.targets import Call
from tasktronaut.engine import facts
from tasktronaut.engine.facts import RunRecord
from tasktronaut.errors import ArgumentError
from tasktronaut.state import DEFAULT_TTL, Lease, SQLiteStore

SETTINGS = frozenset({"threads", "processes", "fail_fast", "restart", "grace", "force",
                      "force_downstream"})
"""The run settings a background run may carry (JSON values, passed to ``Node.run``)."""


class Status(str, enum.Enum):
    """Where a background run stands."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def done(self) -> bool:
        """Whether the run has ended (it will not change again unless resubmitted)."""
        return self in (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)


_COLUMNS = ("id, target, call, settings, status, submitted, started, finished, owner, pid,"
            " host, heartbeat, cancel, attempts, error, schedule")


@attrs.frozen
class QueuedRun:
    """What the queue knows about one background run."""

    id: str
    call: Call
    settings: dict[str, Any]
    status: Status
    submitted: float
    started: float | None
    finished: float | None
    worker: str | None
    """``pid@host`` of the worker that holds or last held it."""
    cancel_requested: bool
    attempts: int
    """How many times a worker took the run (more than one: it was taken over)."""
    error: str | None
    schedule: str | None
    """The schedule that submitted it, if any."""

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> QueuedRun:
        (ident, target, call, settings, status, submitted, started, finished, owner, pid,
         host, _beat, cancel, attempts, error, schedule) = row
        worker = f"{pid}@{host}" if owner is not None or pid is not None else None
        return cls(ident, Call.from_json(target, call), json.loads(settings), Status(status),
                   submitted, started, finished, worker, bool(cancel), attempts, error,
                   schedule)


def check_settings(settings: dict[str, Any]) -> str:
    """The settings as JSON, refusing names a background run does not take."""
    unknown = sorted(set(settings) - SETTINGS)
    if unknown:
        raise ArgumentError(f"a background run does not take the setting {unknown[0]!r} "
                            f"(it takes {', '.join(sorted(SETTINGS))})",
                            name=unknown[0], value=settings[unknown[0]])
    try:
        return json.dumps(settings, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise ArgumentError(f"run settings must be JSON data: {exc}", name="settings",
                            value=settings) from exc


def new_identifier() -> str:
    """A fresh run identifier."""
    return f"run-{uuid.uuid4().hex[:12]}"


class SQLiteQueue:
    """Background runs kept in a SQLite state file, shared by every process that opens it.

    Args:
        state: The state file (or a :class:`~tasktronaut.state.SQLiteStore` on it); the
            runs' completion records go to the same file.
        lease_ttl: Seconds without a heartbeat after which another host's worker takes a
            run over (on this host, a dead worker's runs are taken over at once).
    """

    def __init__(self, state: Any, lease_ttl: float = DEFAULT_TTL) -> None:
        if isinstance(state, SQLiteStore):
            self.store = state
        elif isinstance(state, (str, os.PathLike)):
            self.store = SQLiteStore(state)
        else:
            raise ArgumentError(f"the embedded queue needs a state file path, got {state!r}",
                                name="state", value=state)
        self.path = self.store.path
        self.lease_ttl = float(lease_ttl)
        self.db = Database(self.path)

    def __repr__(self) -> str:
        return f"SQLiteQueue({str(self.path)!r})"

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self.db.closed

    def __reduce__(self) -> tuple[Any, ...]:
        return (SQLiteQueue, (str(self.path), self.lease_ttl))

    def submit(self, call: Call, identifier: str | None = None,
               settings: dict[str, Any] | None = None, schedule: str | None = None) -> str:
        """Queue a run; return its identifier. A finished run's identifier may be reused
        (it then resumes from its records); a queued or running one may not."""
        ident = new_identifier() if identifier is None else identifier
        if not isinstance(ident, str) or not ident:
            raise ArgumentError(f"identifier must be a non-empty string, got {ident!r}",
                                name="identifier", value=ident)
        row = (ident, call.target, call.to_json(), check_settings(settings or {}),
               Status.QUEUED.value, time.time(), schedule)

        def put(conn: sqlite3.Connection) -> None:
            found = conn.execute("SELECT status FROM bg_runs WHERE id = ?", (ident,)).fetchone()
            if found is not None and not Status(found[0]).done:
                raise ArgumentError(f"run '{ident}' is already {found[0]}", name="identifier",
                                    value=ident)
            conn.execute("INSERT OR REPLACE INTO bg_runs (id, target, call, settings, status,"
                         " submitted, schedule) VALUES (?, ?, ?, ?, ?, ?, ?)", row)

        self.db.write(put)
        return ident

    def get(self, identifier: str) -> QueuedRun | None:
        """The record of one run (None if the queue has none of that identifier)."""
        row = self.db.read(lambda conn: conn.execute(
            f"SELECT {_COLUMNS} FROM bg_runs WHERE id = ?", (identifier,)).fetchone())
        return None if row is None else QueuedRun.from_row(row)

    def runs(self, status: Status | str | None = None) -> list[QueuedRun]:
        """All runs (or those with ``status``), oldest submission first."""
        args: tuple[str, ...] = ()
        if status is None:
            sql = f"SELECT {_COLUMNS} FROM bg_runs ORDER BY submitted, id"
        else:
            sql = f"SELECT {_COLUMNS} FROM bg_runs WHERE status = ? ORDER BY submitted, id"
            args = (Status(status).value,)
        rows = self.db.read(lambda conn: conn.execute(sql, args).fetchall())
        return [QueuedRun.from_row(row) for row in rows]

    def request_cancel(self, identifier: str) -> QueuedRun:
        """Ask for a run to be cancelled: a queued one is at once, a running one by its
        worker (which sees the request at its next heartbeat)."""
        now = time.time()

        def mark(conn: sqlite3.Connection) -> None:
            conn.execute("UPDATE bg_runs SET cancel = 1 WHERE id = ?", (identifier,))
            conn.execute("UPDATE bg_runs SET status = ?, finished = ? WHERE id = ? AND"
                         " status = ?", (Status.CANCELLED.value, now, identifier,
                                         Status.QUEUED.value))

        self.db.write(mark)
        found = self.get(identifier)
        if found is None:
            raise ArgumentError(f"no background run '{identifier}' in {self.path}",
                                name="identifier", value=identifier)
        return found

    def claim(self, lease: Lease) -> QueuedRun | None:
        """Take the oldest queued run, or a running one whose worker is gone, for ``lease``."""

        def take(conn: sqlite3.Connection) -> str | None:
            row = conn.execute("SELECT id FROM bg_runs WHERE status = ? ORDER BY submitted, id"
                               " LIMIT 1", (Status.QUEUED.value,)).fetchone()
            ident = None if row is None else str(row[0])
            if ident is None:
                ident = _orphan(conn, lease.owner, self.lease_ttl)
            if ident is None:
                return None
            now = time.time()
            conn.execute("UPDATE bg_runs SET status = ?, owner = ?, pid = ?, host = ?,"
                         " heartbeat = ?, started = COALESCE(started, ?), attempts ="
                         " attempts + 1 WHERE id = ?", (Status.RUNNING.value, lease.owner,
                                                      lease.pid, lease.host, now, now, ident))
            return ident

        ident = self.db.write(take)
        return None if ident is None else self.get(ident)

    def heartbeat(self, owner: str) -> set[str]:
        """Renew ``owner``'s leases; return the ids of its runs with a cancel request."""

        def beat(conn: sqlite3.Connection) -> set[str]:
            conn.execute("UPDATE bg_runs SET heartbeat = ? WHERE owner = ? AND status = ?",
                         (time.time(), owner, Status.RUNNING.value))
            rows = conn.execute("SELECT id FROM bg_runs WHERE owner = ? AND status = ? AND"
                                " cancel = 1", (owner, Status.RUNNING.value)).fetchall()
            return {str(r[0]) for r in rows}

        return self.db.write(beat)

    def finish(self, identifier: str, owner: str, status: Status, error: str | None) -> bool:
        """Record how ``owner``'s run ended; False if the run is no longer its own."""
        row = (status.value, time.time(), error, identifier, owner, Status.RUNNING.value)
        return bool(self.db.write(lambda conn: conn.execute(
            "UPDATE bg_runs SET status = ?, finished = ?, error = ?, owner = NULL"
            " WHERE id = ? AND owner = ? AND status = ?", row).rowcount))

    def hand_back(self, identifier: str, owner: str) -> bool:
        """Put ``owner``'s run back in the queue (the next worker resumes it)."""
        row = (Status.QUEUED.value, identifier, owner, Status.RUNNING.value)
        return bool(self.db.write(lambda conn: conn.execute(
            "UPDATE bg_runs SET status = ?, owner = NULL WHERE id = ? AND owner = ? AND"
            " status = ?", row).rowcount))

    def steps(self, identifier: str) -> dict[str, Any]:
        """The completed process steps recorded for run ``identifier``, with results."""
        return self.store.completed(identifier)

    def run_record(self, identifier: str) -> RunRecord | None:
        """The facts of run ``identifier``'s last attempt, kept with the state file."""
        return facts.load(self.store, identifier)

    def forget(self, identifier: str) -> bool:
        """Remove a finished run's queue entry (its completion records stay)."""
        done = tuple(s.value for s in Status if s.done)
        return bool(self.db.write(lambda conn: conn.execute(
            "DELETE FROM bg_runs WHERE id = ? AND status IN (?, ?, ?)",
            (identifier, *done)).rowcount))

    def close(self) -> None:
        """Close the queue's connections and its store."""
        self.db.close()
        self.store.close()


def _orphan(conn: sqlite3.Connection, owner: str, ttl: float) -> str | None:
    """A running run whose worker no longer holds its lease."""
    rows = conn.execute("SELECT id, owner, pid, host, started, heartbeat FROM bg_runs WHERE"
                        " status = ? AND owner != ? ORDER BY submitted, id",
                        (Status.RUNNING.value, owner)).fetchall()
    for ident, held_by, pid, host, started, beat in rows:
        lease = Lease(held_by, int(pid), str(host), float(started), float(beat))
        if not lease.holds(ttl):
            return str(ident)
    return None
