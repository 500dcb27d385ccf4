"""One SQLite connection per thread for a state file, and closing them all at once.

The engine records from worker threads, and a SQLite connection must not be used by two
threads at once, so each thread gets its own (``threading.local``). A process forked from one
holding connections opens connections of its own and never touches the inherited ones.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from pathlib import Path

from tasktronaut.state.base import StateError, Synchronous


class _Holder:
    """One thread's connection; weakly referenced so a finished thread's connection goes."""

    __slots__ = ("__weakref__", "conn")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn


class ThreadConnections:
    """The connections of one state store: one per thread, opened on first use."""

    def __init__(self, path: Path, timeout: float, synchronous: Synchronous) -> None:
        self.path = path
        self.timeout = timeout
        self.synchronous = synchronous
        self._closed = False
        self._inherited: list[object] = []
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._local = threading.local()
        self._holders: weakref.WeakSet[_Holder] = weakref.WeakSet()

    def get(self) -> sqlite3.Connection:
        """This thread's connection (opened now if it has none)."""
        if self._closed:
            raise StateError(f"State store {self.path} is closed")
        if self._pid != os.getpid():
            # Forked: the inherited connections belong to the parent. Keep them referenced
            # (closing one here could disturb the parent's use of the file) and start afresh.
            self._inherited.append((self._holders, self._local))
            self._reset()
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

    def close(self) -> None:
        """Close the connections of all threads (once; closing again does nothing)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            holders = list(self._holders)
            self._holders.clear()
        for holder in holders:
            holder.conn.close()
