"""The background queue's tables, kept in the state file beside the completion records.

The state store's own schema (:mod:`tasktronaut.state.schema`) is not changed: these tables
are created with ``CREATE TABLE IF NOT EXISTS`` the first time a queue opens a state file,
and carry their own version in the ``meta`` table (``background_schema``). A later change to
them adds a step to :data:`MIGRATIONS` and bumps :data:`VERSION`; a file whose queue tables
are newer than this code is refused.

Every connection here is this module's own (one per thread), opened on a file that
:class:`~tasktronaut.state.SQLiteStore` has already recognised as ours.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from tasktronaut.state import StateError
from tasktronaut.state.runs import transaction

_T = TypeVar("_T")

VERSION = 1
"""The version of the queue tables this module reads and writes."""

TABLES = (
    "CREATE TABLE IF NOT EXISTS bg_runs ("
    " id TEXT PRIMARY KEY,"
    " target TEXT NOT NULL,"
    " call TEXT NOT NULL,"
    " settings TEXT NOT NULL,"
    " status TEXT NOT NULL,"
    " submitted REAL NOT NULL,"
    " started REAL, finished REAL,"
    " owner TEXT, pid INTEGER, host TEXT, heartbeat REAL,"
    " cancel INTEGER NOT NULL DEFAULT 0,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " error TEXT,"
    " schedule TEXT)",
    "CREATE INDEX IF NOT EXISTS bg_runs_status ON bg_runs (status, submitted)",
    "CREATE TABLE IF NOT EXISTS bg_schedules ("
    " name TEXT PRIMARY KEY,"
    " target TEXT NOT NULL,"
    " call TEXT NOT NULL,"
    " settings TEXT NOT NULL,"
    " every REAL, cron TEXT, at REAL,"
    " catch_up INTEGER NOT NULL DEFAULT 0,"
    " next_due REAL,"
    " created REAL NOT NULL)",
)

MIGRATIONS: dict[int, tuple[str, ...]] = {}
"""Statements that take the queue tables from a version (the key) to the next one."""


class Database:
    """Connections (one per thread) to a state file, with write transactions."""

    def __init__(self, path: Path, timeout: float = 30.0) -> None:
        self.path = path
        self.timeout = timeout
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self.closed = False
        self.write(_ensure_tables)

    def connection(self) -> sqlite3.Connection:
        if self.closed:
            raise StateError(f"the queue of state file {self.path} is closed")
        if self._pid != os.getpid():  # forked: the parent's connections are not ours to use
            self._pid, self._local, self._all = os.getpid(), threading.local(), []
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA synchronous=FULL")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def read(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``work`` outside a transaction (each statement sees committed data)."""
        try:
            return work(self.connection())
        except sqlite3.Error as exc:
            raise StateError(f"State file {self.path}: {exc}") from exc

    def write(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``work`` in one write transaction, retrying a few times while locked."""
        for attempt in range(5):
            try:
                return transaction(self.connection(), work)
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc).lower() or attempt == 4:
                    raise StateError(f"State file {self.path}: {exc}") from exc
                time.sleep(0.05 * 2 ** attempt)
            except sqlite3.Error as exc:
                raise StateError(f"State file {self.path}: {exc}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        with self._lock:
            self.closed = True
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()
        self._local = threading.local()


def _ensure_tables(conn: sqlite3.Connection) -> None:
    row = conn.execute("SELECT value FROM meta WHERE key = 'background_schema'").fetchone()
    version = None if row is None else int(row[0])
    if version is not None and version > VERSION:
        raise StateError(f"the background queue tables have version {version}; this version "
                         f"of tasktronaut reads version {VERSION}")
    if version == VERSION:
        return
    if version is None:
        for statement in TABLES:
            conn.execute(statement)
        version = VERSION
    while version < VERSION:
        for statement in MIGRATIONS[version]:
            conn.execute(statement)
        version += 1
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('background_schema', ?)",
                 (str(VERSION),))
