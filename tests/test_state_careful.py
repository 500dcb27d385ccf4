"""A careful store: files that are not ours are never written; problems are one line."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from tasktronaut import Builder, ProcessDefinition
from tasktronaut.cli import cli
from tasktronaut.state import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    MemoryStore,
    SQLiteStore,
    StateError,
)

FLOW = '''
from pathlib import Path
from tasktronaut import ProcessDefinition

class Mark(ProcessDefinition):
    def define_process(self, builder):
        builder.task(self.mark)

    def mark(self, folder: str):
        (Path(folder) / "ran").touch()
        return 1
'''


def _foreign(path: Path) -> bytes:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO customers (name) VALUES ('Ada')")
    conn.close()
    return path.read_bytes()


def _commands(tmp_path: Path, state: str) -> list[list[str]]:
    run = ["run", str(tmp_path / "flow.py:Mark"), "--arg", f"folder={tmp_path}", "--id", "x",
           "--state", state]
    return [
        run,
        ["state", "list", "--state", state],
        ["state", "show", "x", "--state", state],
        ["state", "forget", "x", "--state", state],
        ["state", "cache", "list", "--state", state],
        ["state", "cache", "clear", "--state", state],
        ["why", str(tmp_path / "flow.py:Mark"), "--arg", f"folder={tmp_path}", "--id", "x",
         "--state", state],
    ]


def _one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("Error: ")
    return lines[0]


def test_another_programs_database_is_never_written(tmp_path):
    (tmp_path / "flow.py").write_text(FLOW)
    path = tmp_path / "shop.db"
    before = _foreign(path)
    for args in _commands(tmp_path, str(path)):
        line = _one_error_line(CliRunner().invoke(cli, args))
        assert "is not a tasktronaut state file (a SQLite database of another program)" in line
        assert path.read_bytes() == before
    made = sorted(p.name for p in tmp_path.iterdir() if p.name != "__pycache__")
    assert made == ["flow.py", "shop.db"]  # (Python may cache flow.py's bytecode)
    assert not (tmp_path / "ran").exists()


@pytest.mark.parametrize(
    ("content", "why"),
    [(b"", "it is empty"), (b"\x00garbage" * 50, "not a SQLite database")],
    ids=["empty", "garbage"],
)
def test_an_empty_or_damaged_file_is_one_error_line_everywhere(tmp_path, content, why):
    (tmp_path / "flow.py").write_text(FLOW)
    path = tmp_path / "state.db"
    path.write_bytes(content)
    for args in _commands(tmp_path, str(path)):
        assert why in _one_error_line(CliRunner().invoke(cli, args))
    assert path.read_bytes() == content
    assert not (tmp_path / "ran").exists()


def test_a_damaged_page_is_one_error_line(tmp_path):
    path = tmp_path / "state.db"
    with SQLiteStore(path) as store:
        for i in range(200):
            store.record("x", f"step {i}", "y" * 200)
    data = bytearray(path.read_bytes())
    data[4096:] = b"\xff" * (len(data) - 4096)  # every page after the first is garbage
    path.write_bytes(bytes(data))
    line = _one_error_line(CliRunner().invoke(cli, ["state", "show", "x", "--state",
                                                     str(path)]))
    assert str(path) in line


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_state_value_is_a_usage_error(tmp_path, value):
    (tmp_path / "flow.py").write_text(FLOW)
    line = _one_error_line(CliRunner().invoke(cli, _commands(tmp_path, value)[0]))
    assert line == f"Error: --state needs a file path, got {value!r}"


def test_a_folder_as_state_is_a_usage_error(tmp_path):
    line = _one_error_line(CliRunner().invoke(cli, ["state", "list", "--state",
                                                     str(tmp_path)]))
    assert "is a directory" in line


def test_a_new_file_is_ours_and_complete_from_the_start(tmp_path):
    path = tmp_path / "state.db"
    SQLiteStore(path).close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()
    assert [p.name for p in tmp_path.iterdir()] == ["state.db"]  # no temporary left behind


def test_a_schema_1_file_is_migrated_and_keeps_its_records(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute("CREATE TABLE completions (process_id TEXT NOT NULL, step TEXT NOT NULL,"
                 " result BLOB, encoding TEXT NOT NULL, recorded_at REAL NOT NULL,"
                 " PRIMARY KEY (process_id, step))")
    conn.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    conn.execute("INSERT INTO completions VALUES ('job', 'Steps.first', '1', 'json', 0)")
    conn.close()
    with SQLiteStore(path) as store:
        assert store.completed("job") == {"Steps.first": 1}
        assert store.arguments("job") is None
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'"
                            ).fetchone()[0] == str(SCHEMA_VERSION)
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    finally:
        conn.close()


class Two(ProcessDefinition):
    def define_process(self, builder: Builder) -> None:
        builder.task(self.work)

    def work(self, folder: str) -> int:
        (Path(folder) / "ran").touch()
        return 1


class ReadOnly(MemoryStore):
    """A store whose writes fail, as a read-only or full file's do."""

    def _refuse(self, *args: object) -> None:
        raise StateError("State file ro.db cannot be written: attempt to write a readonly "
                         "database")

    check_writable = acquire = record = _refuse


class NoLeases:
    """A store of one's own: the five methods of the protocol and a writable check."""

    def __init__(self) -> None:
        self.inner = ReadOnly()
        self.completed = self.inner.completed
        self.record = self.inner.record
        self.forget = self.inner.forget
        self.processes = self.inner.processes
        self.close = self.inner.close
        self.check_writable = self.inner.check_writable


@pytest.mark.parametrize("store", [ReadOnly, NoLeases])
def test_a_store_that_cannot_be_written_fails_the_run_before_any_step(tmp_path, store):
    with pytest.raises(StateError, match="cannot be written"):
        Two.build("x", folder=str(tmp_path)).run(state=store())
    assert not (tmp_path / "ran").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only files")
def test_a_read_only_file_is_noticed_before_any_step(tmp_path):
    path = tmp_path / "state.db"
    SQLiteStore(path).close()
    path.chmod(0o444)
    with pytest.raises(StateError, match="cannot be written"):
        Two.build("x", folder=str(tmp_path)).run(state=path)
    assert not (tmp_path / "ran").exists()
