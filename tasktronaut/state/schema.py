"""The state file's schema: creating a file, recognising ours, and migrating older ones.

A state file is recognised before anything is written to it: its first 100 bytes must be a
SQLite header carrying our application id (``PRAGMA application_id``), or, for files of
schema 1 (which had none), a read-only look must find our ``meta`` and ``completions``
tables. Anything else (another program's database, an empty or damaged file) is refused and
left exactly as it was.

A new file is built under a temporary name next to its final one and then linked into place,
so a file at the path is always complete: a 0-byte state file is never one we made.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import uuid
from pathlib import Path

from tasktronaut.state.base import StateError

SCHEMA_VERSION = 3
"""The version of the SQLite schema this package reads and writes."""

APPLICATION_ID = 0x54546E74  # "TTnt"
"""What ``PRAGMA application_id`` says in a tasktronaut state file."""

_MAGIC = b"SQLite format 3\x00"

TABLES = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS completions ("
    " process_id TEXT NOT NULL,"
    " step TEXT NOT NULL,"
    " result BLOB,"
    " encoding TEXT NOT NULL,"
    " recorded_at REAL NOT NULL,"
    " PRIMARY KEY (process_id, step))",
)

MIGRATIONS: dict[int, tuple[str, ...]] = {
    # 1 -> 2: the arguments each identifier's records were made with, and run leases.
    1: (
        "CREATE TABLE IF NOT EXISTS runs ("
        " process_id TEXT PRIMARY KEY,"
        " fingerprint TEXT NOT NULL,"
        " arguments TEXT NOT NULL,"
        " recorded_at REAL NOT NULL)",
        "CREATE TABLE IF NOT EXISTS leases ("
        " process_id TEXT PRIMARY KEY,"
        " owner TEXT NOT NULL,"
        " pid INTEGER NOT NULL,"
        " host TEXT NOT NULL,"
        " started REAL NOT NULL,"
        " heartbeat REAL NOT NULL)",
        f"PRAGMA application_id = {APPLICATION_ID}",
    ),
    # 2 -> 3: the record of the last run of each identifier (what ``tasktronaut report``
    # reads after the fact).
    2: (
        "CREATE TABLE IF NOT EXISTS last_runs ("
        " process_id TEXT PRIMARY KEY,"
        " record TEXT NOT NULL,"
        " recorded_at REAL NOT NULL)",
    ),
}
"""Statements that take a file from a version (the key) to the next one."""


def _foreign(path: Path, why: str) -> StateError:
    return StateError(
        f"State file {path} is not a tasktronaut state file ({why}); it was left untouched: "
        "give another --state path, or remove the file to start afresh"
    )


def inspect(path: Path) -> None:
    """Raise :class:`StateError` unless ``path`` is a state file of ours; write nothing."""
    try:
        with open(path, "rb") as f:
            header = f.read(100)
    except IsADirectoryError:
        raise StateError(f"State file {path} is a directory") from None
    except OSError as exc:
        raise StateError(f"Cannot read state file {path}: {exc.strerror or exc}") from exc
    if not header:
        raise _foreign(path, "it is empty")
    if header[:16] != _MAGIC or len(header) < 100:
        raise _foreign(path, "not a SQLite database: damaged, or another program's file")
    application = int.from_bytes(header[68:72], "big")
    if application == APPLICATION_ID:
        return
    if application != 0 or not _has_schema_1(path):
        raise _foreign(path, "a SQLite database of another program")


def _has_schema_1(path: Path) -> bool:
    """Whether the file has the tables of schema 1 (looked at through a read-only connection)."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return False
    try:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        return {"meta", "completions"} <= names
    except sqlite3.Error:
        return False
    finally:
        conn.close()


def create(path: Path) -> bool:
    """Make a new, complete state file at ``path``; False if a file appeared there first."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.new")
    try:
        conn = sqlite3.connect(temporary, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")  # persistent: recorded in the file itself
            conn.execute("BEGIN")
            for statement in (*TABLES, *(s for v in sorted(MIGRATIONS) for s in MIGRATIONS[v])):
                conn.execute(statement)
            conn.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?)",
                         (str(SCHEMA_VERSION),))
            conn.execute("COMMIT")
        finally:
            conn.close()
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        except OSError:  # a file system without hard links: not atomic, but rare
            if path.exists():
                return False
            os.replace(temporary, path)
        return True
    except sqlite3.Error as exc:
        raise StateError(f"Cannot create state file {path}: {exc}") from exc
    except OSError as exc:
        raise StateError(f"Cannot create state file {path}: {exc.strerror or exc}") from exc
    finally:
        for leftover in (temporary, Path(f"{temporary}-wal"), Path(f"{temporary}-shm")):
            with contextlib.suppress(OSError):
                leftover.unlink()


def version_of(conn: sqlite3.Connection) -> int | None:
    """The schema version recorded in the file (None if it records none)."""
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return None
        raise
    return None if row is None else int(row[0])


def upgrade(conn: sqlite3.Connection, path: Path) -> None:
    """Check the file's schema version; migrate an older file to this one."""
    version = version_of(conn)
    if version == SCHEMA_VERSION:
        return
    if version is None or version > SCHEMA_VERSION:
        raise StateError(
            f"State file {path} has schema version {version}; this version of tasktronaut "
            f"reads version {SCHEMA_VERSION}"
        )
    conn.execute("BEGIN IMMEDIATE")  # two processes may migrate at once: one does
    try:
        version = version_of(conn)
        while version is not None and version < SCHEMA_VERSION:
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
            version += 1
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'",
                     (str(SCHEMA_VERSION),))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise
