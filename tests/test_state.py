"""State stores: completion records per process, in memory and in SQLite files."""

from __future__ import annotations

import os
import pickle
import signal
import sqlite3
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path

import pytest

from tasktronaut.errors import ArgumentError, TasktronautError
from tasktronaut.state import (
    DEFAULT_STATE_PATH,
    SCHEMA_VERSION,
    MemoryStore,
    ProcessSummary,
    SQLiteStore,
    StateError,
    StateStore,
    open_store,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(params=["memory", "sqlite"])
def store(request, tmp_path):
    made = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "state.db")
    yield made
    made.close()


def child(script: str, *args: object, stdin: int | None = None) -> subprocess.Popen[str]:
    """A Python subprocess running ``script`` that can import tasktronaut from this tree."""
    paths = [str(ROOT), os.environ.get("PYTHONPATH", "")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths))
    return subprocess.Popen(
        [sys.executable, "-c", script, *map(str, args)],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def first_line(proc: subprocess.Popen[str]) -> str:
    line = proc.stdout.readline()
    if not line:
        proc.wait()
        pytest.fail(f"child exited early ({proc.returncode}): {proc.stderr.read()}")
    return line.strip()


# -- the store API, for both stores ---------------------------------------------------------


def test_stores_follow_the_protocol(store):
    assert isinstance(store, StateStore)


def test_record_then_completed_in_recording_order(store):
    store.record("run-1", "b", 2)
    store.record("run-1", "a", {"x": [1, "two", None]})
    store.record("run-2", "a", "other process")
    assert store.completed("run-1") == {"b": 2, "a": {"x": [1, "two", None]}}
    assert list(store.completed("run-1")) == ["b", "a"]
    assert store.completed("run-2") == {"a": "other process"}


def test_unknown_process_has_no_completions(store):
    assert store.completed("nobody") == {}


def test_record_again_replaces_the_result_and_moves_the_step_last(store):
    store.record("p", "a", 1)
    store.record("p", "b", 2)
    store.record("p", "a", 3)
    assert list(store.completed("p").items()) == [("b", 2), ("a", 3)]


def test_none_is_a_result(store):
    store.record("p", "a", None)
    assert store.completed("p") == {"a": None}


def test_forget_one_step(store):
    store.record("p", "a", 1)
    store.record("p", "b", 2)
    assert store.forget("p", "a") == 1
    assert store.completed("p") == {"b": 2}
    assert store.forget("p", "a") == 0


def test_forget_a_whole_process(store):
    store.record("p", "a", 1)
    store.record("p", "b", 2)
    store.record("q", "a", 1)
    assert store.forget("p") == 2
    assert store.completed("p") == {}
    assert store.completed("q") == {"a": 1}
    assert store.forget("p") == 0


def test_processes_summarises_each_identifier(store):
    before = datetime.now(timezone.utc) - timedelta(seconds=1)
    store.record("zeta", "a", 1)
    store.record("alpha", "a", 1)
    store.record("alpha", "b", 2)
    store.record("alpha", "b", 3)
    after = datetime.now(timezone.utc) + timedelta(seconds=1)
    summaries = store.processes()
    assert [(s.process_id, s.steps) for s in summaries] == [("alpha", 2), ("zeta", 1)]
    for summary in summaries:
        assert isinstance(summary, ProcessSummary)
        assert before <= summary.last_update <= after


def test_forgotten_processes_are_not_listed(store):
    store.record("p", "a", 1)
    store.forget("p", "a")
    assert store.processes() == []


@pytest.mark.parametrize(("process_id", "step"), [(1, "a"), ("p", None), ("p", b"a")])
def test_identifiers_and_steps_must_be_strings(store, process_id, step):
    with pytest.raises(ArgumentError, match="must be a string"):
        store.record(process_id, step, 1)


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_threads_record_concurrently(kind, tmp_path):
    store = MemoryStore() if kind == "memory" else SQLiteStore(tmp_path / "state.db")
    threads, per_thread = 8, 50
    start = threading.Barrier(threads)

    def work(n: int) -> None:
        start.wait()
        for i in range(per_thread):
            store.record(f"p{n % 2}", f"t{n}-s{i}", [n, i])

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, range(threads)))
    for n in range(threads):
        done = store.completed(f"p{n % 2}")
        assert all(done[f"t{n}-s{i}"] == [n, i] for i in range(per_thread))
    assert [s.steps for s in store.processes()] == [threads // 2 * per_thread] * 2
    store.close()


# -- MemoryStore specifics ------------------------------------------------------------------


def test_memory_store_keeps_any_result_as_is():
    store = MemoryStore()
    value = object()
    store.record("p", "a", value)
    assert store.completed("p")["a"] is value


def test_memory_store_stays_readable_after_close():
    with MemoryStore() as store:
        store.record("p", "a", 1)
    assert store.completed("p") == {"a": 1}


# -- SQLiteStore: files, serialisation, schema ----------------------------------------------


def test_records_survive_closing_and_reopening(tmp_path):
    path = tmp_path / "state.db"
    with SQLiteStore(path) as store:
        store.record("p", "a", {"n": 1})
    with SQLiteStore(path) as store:
        assert store.completed("p") == {"a": {"n": 1}}


def test_parent_directories_are_created(tmp_path):
    path = tmp_path / "deep" / "er" / "state.db"
    with SQLiteStore(path) as store:
        store.record("p", "a", 1)
    assert path.is_file()


def test_file_uses_wal_and_has_a_schema_version(tmp_path):
    path = tmp_path / "state.db"
    SQLiteStore(path).close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        assert int(version[0]) == SCHEMA_VERSION
    finally:
        conn.close()


def test_json_turns_tuples_into_lists(tmp_path):
    with SQLiteStore(tmp_path / "state.db") as store:
        store.record("p", "a", {"pair": (1, 2), "nested": {"k": [1.5, True]}})
        assert store.completed("p") == {"a": {"pair": [1, 2], "nested": {"k": [1.5, True]}}}


def test_pickle_keeps_python_objects(tmp_path):
    value = {"when": date(2025, 11, 17), "ratio": Fraction(1, 3), "pair": (1, 2)}
    with SQLiteStore(tmp_path / "state.db", serializer="pickle") as store:
        store.record("p", "a", value)
        assert store.completed("p") == {"a": value}


def test_rows_are_read_with_the_encoding_they_were_written_with(tmp_path):
    path = tmp_path / "state.db"
    with SQLiteStore(path, serializer="pickle") as store:
        store.record("p", "pickled", (1, 2))
    with SQLiteStore(path) as store:
        store.record("p", "json", (1, 2))
        assert store.completed("p") == {"pickled": (1, 2), "json": [1, 2]}


def test_unserialisable_json_result_is_a_clear_error(tmp_path):
    with SQLiteStore(tmp_path / "state.db") as store:
        with pytest.raises(StateError) as caught:
            store.record("run-7", "Ingest.load", datetime(2025, 1, 1))
        message = str(caught.value)
        assert "'Ingest.load'" in message
        assert "'run-7'" in message
        assert "datetime.datetime" in message
        assert 'serializer="pickle"' in message
        assert caught.value.process_id == "run-7"
        assert caught.value.step == "Ingest.load"
        assert caught.value.value_type is datetime
        assert isinstance(caught.value, TasktronautError)
        assert store.completed("run-7") == {}


def test_unpicklable_result_is_a_clear_error(tmp_path):
    with SQLiteStore(tmp_path / "state.db", serializer="pickle") as store:
        with pytest.raises(StateError, match=r"step 'a' of process 'p'.*a function"):
            store.record("p", "a", lambda: 1)
        assert store.completed("p") == {}


def test_unreadable_result_names_the_step(tmp_path):
    path = tmp_path / "state.db"
    SQLiteStore(path).close()
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("INSERT INTO completions VALUES ('p', 'a', x'00', 'pickle', 0)")
    conn.close()
    with SQLiteStore(path) as store, pytest.raises(StateError, match="step 'a' of process 'p'"):
        store.completed("p")


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "state.db"
    SQLiteStore(path).close()
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.close()
    with pytest.raises(StateError, match="schema version 99"):
        SQLiteStore(path)


def test_a_file_that_is_not_a_database_is_refused(tmp_path):
    path = tmp_path / "state.db"
    path.write_bytes(b"this is not a database, just some text that is long enough" * 20)
    with pytest.raises(StateError, match=str(path)):
        SQLiteStore(path)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"serializer": "yaml"}, "serializer must be one of 'json', 'pickle'"),
        ({"synchronous": "OFF"}, "synchronous must be one of 'NORMAL', 'FULL'"),
        ({"timeout": -1}, "timeout and retries must be >= 0"),
        ({"retries": -1}, "timeout and retries must be >= 0"),
    ],
)
def test_settings_are_validated(tmp_path, kwargs, match):
    with pytest.raises(ArgumentError, match=match):
        SQLiteStore(tmp_path / "state.db", **kwargs)


@pytest.mark.parametrize("path", ["", ":memory:"])
def test_sqlite_store_needs_a_file(path):
    with pytest.raises(ArgumentError, match="use MemoryStore"):
        SQLiteStore(path)


def test_synchronous_normal_is_accepted(tmp_path):
    with SQLiteStore(tmp_path / "state.db", synchronous="normal") as store:
        store.record("p", "a", 1)
        assert store.completed("p") == {"a": 1}


def test_a_closed_store_refuses_work(tmp_path):
    store = SQLiteStore(tmp_path / "state.db")
    store.close()
    store.close()  # closing twice is harmless
    with pytest.raises(StateError, match="is closed"):
        store.record("p", "a", 1)


def test_close_closes_the_connections_of_all_threads(tmp_path):
    path = tmp_path / "state.db"
    store = SQLiteStore(path)
    with ThreadPoolExecutor(4) as pool:  # the worker threads (and their connections) live on
        list(pool.map(lambda i: store.record("p", str(i), i), range(40)))
        store.close()
        # SQLite removes the WAL file when the last connection to the database closes.
        assert not Path(f"{path}-wal").exists()
    assert len(SQLiteStore(path).completed("p")) == 40


def test_a_store_can_be_pickled_and_reopens_the_file(tmp_path):
    with SQLiteStore(tmp_path / "state.db", serializer="pickle", timeout=5) as store:
        store.record("p", "a", 1)
        with pickle.loads(pickle.dumps(store)) as copy:
            assert copy.completed("p") == {"a": 1}
            assert (copy.path, copy.serializer, copy.timeout) == (store.path, store.serializer, 5)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_opens_connections_of_its_own(tmp_path):
    path = tmp_path / "state.db"
    store = SQLiteStore(path)
    store.record("parent", "before", 1)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            store.record("child", "a", 2)
            code = 0 if store.completed("parent") == {"before": 1} else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    store.record("parent", "after", 3)
    assert store.completed("child") == {"a": 2}
    assert store.completed("parent") == {"before": 1, "after": 3}
    store.close()
    assert integrity(path) == "ok"


# -- locking --------------------------------------------------------------------------------


@pytest.fixture
def writer_lock(tmp_path):
    """Another connection holding the write lock of the state file (released on COMMIT)."""
    path = tmp_path / "state.db"
    SQLiteStore(path).close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    yield path, conn
    if conn.in_transaction:
        conn.execute("COMMIT")
    conn.close()


def test_a_locked_write_is_retried(writer_lock, mocker):
    path, blocker = writer_lock
    store = SQLiteStore(path, timeout=0)
    pause = mocker.patch("tasktronaut.state.sqlite._pause", side_effect=lambda _: blocker.commit())
    store.record("p", "a", 1)
    assert pause.call_count == 1
    assert store.completed("p") == {"a": 1}
    store.close()


def test_a_write_that_stays_locked_gives_up_with_a_clear_error(writer_lock, mocker):
    path, _ = writer_lock
    store = SQLiteStore(path, timeout=0, retries=2)
    pause = mocker.patch("tasktronaut.state.sqlite._pause")
    with pytest.raises(StateError, match=r"is locked by another writer \(gave up after 3"):
        store.record("p", "a", 1)
    assert pause.call_count == 2
    store.close()


def test_readers_do_not_wait_for_a_writer(writer_lock):
    path, _ = writer_lock
    with SQLiteStore(path, timeout=0, retries=0) as store:
        assert store.completed("p") == {}
        assert store.processes() == []


# -- several processes, and kill -9 ---------------------------------------------------------

WRITER = """
import sys
from tasktronaut.state import SQLiteStore
path, process_id, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = SQLiteStore(path)
print("ready", flush=True)
sys.stdin.readline()
for i in range(count):
    store.record(process_id, f"step-{i}", {"i": i})
store.close()
print("done", flush=True)
"""


def test_two_processes_share_one_file(tmp_path):
    path, count = tmp_path / "shared" / "state.db", 200
    writers = [child(WRITER, path, name, count, stdin=subprocess.PIPE) for name in ("a", "b")]
    for proc in writers:  # both have opened the store: now start them together
        assert first_line(proc) == "ready"
    for proc in writers:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in writers:
        out, err = proc.communicate()
        assert proc.returncode == 0, err
        assert out.split() == ["done"]
        assert "locked" not in err
    with SQLiteStore(path) as store:
        for name in ("a", "b"):
            assert store.completed(name) == {f"step-{i}": {"i": i} for i in range(count)}
        assert [(s.process_id, s.steps) for s in store.processes()] == [("a", count), ("b", count)]


RECORDER = """
import sys
from tasktronaut.state import SQLiteStore
store = SQLiteStore(sys.argv[1])
i = 0
while True:
    store.record("victim", f"step-{i}", {"i": i, "padding": "x" * 2000})
    print(i, flush=True)
    i += 1
"""


def integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_kill_9_loses_no_reported_completion(tmp_path):
    path = tmp_path / "state.db"
    proc = child(RECORDER, path)
    reported = [first_line(proc) for _ in range(300)]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    reported += proc.stdout.read().split()  # printed before the kill, still in the pipe
    proc.stdout.close()
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert integrity(path) == "ok"
    with SQLiteStore(path) as store:
        done = store.completed("victim")
        assert {f"step-{i}" for i in reported} <= set(done)
        # Recording is sequential, so what is recorded is a prefix: at most one unreported.
        assert list(done) == [f"step-{i}" for i in range(len(done))]
        assert len(reported) <= len(done) <= len(reported) + 1
        store.record("victim", "after", 1)  # the file is writable again
    assert integrity(path) == "ok"


HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
conn.execute("INSERT INTO completions VALUES ('ghost', 'a', '1', 'json', 0)")
print("holding", flush=True)
sys.stdin.readline()
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_writer_killed_inside_its_transaction_leaves_nothing_behind(tmp_path):
    path = tmp_path / "state.db"
    store = SQLiteStore(path, timeout=5, retries=0)
    proc = child(HOLDER, path, stdin=subprocess.PIPE)
    assert first_line(proc) == "holding"
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    store.record("p", "a", 1)  # the dead writer's lock is gone
    assert store.completed("ghost") == {}
    assert store.completed("p") == {"a": 1}
    store.close()
    assert integrity(path) == "ok"


# -- open_store -----------------------------------------------------------------------------


def test_open_store_none_gives_a_fresh_memory_store():
    first, second = open_store(None), open_store()
    assert isinstance(first, MemoryStore)
    assert first is not second


@pytest.mark.parametrize("as_str", [True, False])
def test_open_store_path_gives_a_sqlite_store(tmp_path, as_str):
    path = tmp_path / "state.db"
    store = open_store(str(path) if as_str else path)
    assert isinstance(store, SQLiteStore)
    assert store.path == path
    store.close()


def test_open_store_passes_a_store_through():
    store = MemoryStore()
    assert open_store(store) is store


@pytest.mark.parametrize("spec", [True, 3, object()])
def test_open_store_rejects_anything_else(spec):
    with pytest.raises(ArgumentError, match="state must be None, a file path or a state store"):
        open_store(spec)


def test_default_state_path_is_relative_to_the_working_directory():
    assert Path(".tasktronaut/state.db") == DEFAULT_STATE_PATH
    assert not DEFAULT_STATE_PATH.is_absolute()
