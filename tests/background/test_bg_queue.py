"""The embedded queue: submit returns at once, workers run each run once, handles, cancel."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
from bg_flows import ROOT, Appender, Failing, Once, lines, target, touched, until, worker_process

from tasktronaut import ArgumentError
from tasktronaut.background import RunHandle, SQLiteQueue, Status, Worker, submit


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


def test_submit_returns_at_once_while_the_run_takes_seconds(db: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "out")
    submit(Once, state=db, identifier="warm-up", out=out, pause=0.0)  # creates the file
    timings = []
    for i in range(7):
        start = time.perf_counter()
        handle = submit(Appender, state=db, identifier=f"long-{i}", out=out, steps=2,
                        pause=0.6)
        timings.append(time.perf_counter() - start)
        assert handle.status() is Status.QUEUED
    print(f"submit latency: median {statistics.median(timings) * 1000:.1f} ms")
    assert statistics.median(timings) < 0.5
    worker = Worker(db, concurrency=2, poll=0.05).start()
    try:
        start = time.perf_counter()
        assert RunHandle(handle.backend, "long-0").wait(30) is Status.SUCCEEDED
        assert time.perf_counter() - start > 1.0  # the run itself takes seconds
    finally:
        worker.stop(grace=30)


def test_handle_status_steps_record_and_wait(db: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "out")
    handle = submit(Appender, state=db, identifier="h1", out=out, steps=3, pause=0.05)
    assert (handle.id, handle.ready, handle.done) == ("h1", False, False)
    assert handle.record is None  # nothing has run yet
    with pytest.raises(TimeoutError, match=r"'h1' is still queued after 0\.1s"):
        handle.wait(timeout=0.1)
    worker = Worker(db, poll=0.05).start()
    try:
        assert handle.wait(timeout=30) is Status.SUCCEEDED
    finally:
        worker.stop()
    assert handle.ready
    assert handle.done
    assert {k: v for k, v in handle.steps.items() if k.startswith("step")} == {
        "step-0": 0, "step-1": 1, "step-2": 2}
    record = handle.info
    assert record.call.kwargs == {"out": out, "steps": 3, "pause": 0.05}
    assert record.started is not None
    assert record.finished is not None
    assert record.worker == f"{os.getpid()}@{os.uname().nodename}"
    assert (record.attempts, record.error) == (1, None)
    assert lines(out) == ["h1 step-0", "h1 step-1", "h1 step-2"]
    facts = handle.record  # the run record of the observability facts
    assert facts is not None
    assert (facts.run_id, facts.identifier, facts.ready) == ("h1", "h1", True)
    assert facts.arguments == {"out": out, "steps": 3, "pause": 0.05}
    assert [n.state for n in facts.nodes if n.name.startswith("step")] == ["ready"] * 3


def test_a_failed_run_says_what_failed_and_can_be_resubmitted(db: Path) -> None:
    handle = submit(Failing, state=db, identifier="f1")
    with pytest.raises(ArgumentError, match="run 'f1' is already queued"):
        submit(Failing, state=db, identifier="f1")
    Worker(db, poll=0.05).run(until_idle=True)
    assert handle.status() is Status.FAILED
    assert handle.info.error is not None
    assert "no luck" in handle.info.error
    assert submit(Failing, state=db, identifier="f1").status() is Status.QUEUED


def test_tasks_and_built_nodes_can_be_submitted(db: Path, tmp_path: Path) -> None:
    path = tmp_path / "asset"
    from_task = submit(touched, str(path), state=db)
    node = Appender.build("built", out=str(tmp_path / "out"), steps=1, pause=0.0)
    from_node = submit(node, state=db)
    assert from_node.id == "built"
    Worker(db, poll=0.05).run(until_idle=True)
    assert from_task.ready
    assert from_task.record is not None
    assert from_task.record.identifier == from_task.id
    assert path.read_text() == "done\n"
    assert from_node.ready
    assert lines(tmp_path / "out") == ["built step-0"]


def test_bad_submissions_are_refused_before_anything_is_queued(db: Path) -> None:
    with pytest.raises(ArgumentError, match="must be JSON data"):
        submit(Once, state=db, out=object(), pause=0.0)
    with pytest.raises(ArgumentError, match="does not take the setting 'color'"):
        submit(Once, state=db, settings={"color": 1}, out="x", pause=0.0)
    with pytest.raises(ArgumentError, match="needs a process class, a @task function"):
        submit(print, state=db)
    queue = SQLiteQueue(db)
    assert queue.runs() == []
    queue.close()


def test_two_worker_processes_share_twenty_runs_and_each_runs_once(db: Path,
                                                                   tmp_path: Path) -> None:
    out = str(tmp_path / "out")
    ids = [submit(Once, state=db, out=out, pause=0.1).id for _ in range(20)]
    workers = [worker_process(db, "--burst") for _ in range(2)]
    for proc in workers:
        assert proc.wait(60) == 0, proc.stderr.read() if proc.stderr else ""
    assert sorted(lines(out)) == sorted(ids)  # every run once, none twice
    queue = SQLiteQueue(db)
    records = queue.runs()
    queue.close()
    assert {r.status for r in records} == {Status.SUCCEEDED}
    assert len({r.worker for r in records}) == 2  # both took a share


def test_a_worker_killed_with_kill_9_is_taken_over_and_its_run_resumed(db: Path,
                                                                       tmp_path: Path) -> None:
    out = str(tmp_path / "out")
    handle = submit(Appender, state=db, identifier="k9", out=out, steps=6, pause=0.3)
    first = worker_process(db)
    queue = SQLiteQueue(db)
    until(lambda: len([s for s in queue.steps("k9") if s.startswith("step")]) >= 2,
          what="two recorded steps")
    first.kill()
    first.wait()
    assert handle.status() is Status.RUNNING  # the dead worker's lease is still recorded
    second = worker_process(db, "--burst")
    assert second.wait(60) == 0
    assert handle.status() is Status.SUCCEEDED
    assert lines(out) == [f"k9 step-{i}" for i in range(6)]  # each step exactly once
    assert handle.info.attempts == 2
    queue.close()


def test_cancel_from_another_process_stops_the_run_and_calls_on_cancelled(
        db: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "out")
    handle = submit(Appender, state=db, identifier="c1", out=out, steps=20, pause=0.1)
    worker = Worker(db, poll=0.05).start()
    try:
        until(lambda: len(lines(out)) >= 1, what="a first step")
        done = subprocess.run(
            [sys.executable, "-m", "tasktronaut", "cancel", "c1", "--state", str(db)],
            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        assert "c1: running, cancel requested" in done.stdout
        assert handle.wait(30) is Status.CANCELLED
    finally:
        worker.stop()
    found = lines(out)
    assert "c1 cancelled" in found  # on_cancelled ran
    after = found[found.index("c1 cancelled") + 1:]
    assert len(after) <= 1  # only the step that was running when the request came
    assert len(found) < 21


def test_cancelling_a_queued_run_cancels_it_at_once(db: Path) -> None:
    handle = submit(Once, state=db, out="never", pause=0.0)
    assert handle.cancel() is Status.CANCELLED
    Worker(db, poll=0.05).run(until_idle=True)
    assert handle.status() is Status.CANCELLED
    assert not Path("never").exists()


def test_stop_hands_back_what_does_not_finish_within_the_grace(db: Path,
                                                               tmp_path: Path) -> None:
    out = str(tmp_path / "out")
    handle = submit(Appender, state=db, identifier="g1", out=out, steps=4, pause=0.3)
    worker = Worker(db, poll=0.05).start()
    until(lambda: handle.status() is Status.RUNNING, what="the run to start")
    assert worker.stop(grace=0.0) == ["g1"]
    assert handle.status() is Status.QUEUED
    # The stopped worker's thread still runs the process and holds its run lease: the next
    # worker is refused until it ends, then resumes from the records it left.
    successor = Worker(db, poll=0.05).start()
    try:
        assert handle.wait(60) is Status.SUCCEEDED
    finally:
        successor.stop()
    assert lines(out) == [f"g1 step-{i}" for i in range(4)]  # no step ran twice


def test_target_names_for_workers_elsewhere() -> None:
    assert target("Once").endswith("bg_flows.py:Once")


def test_a_run_of_another_host_is_taken_over_only_when_its_heartbeat_is_old(db: Path) -> None:
    from tasktronaut.state import Lease

    queue = SQLiteQueue(db, lease_ttl=30)
    submit(Once, backend=queue, identifier="remote", out="x", pause=0.0)
    now = time.time()
    elsewhere = Lease("far", 1, "another-host", now, now)
    taken = queue.claim(elsewhere)
    assert taken is not None
    assert taken.id == "remote"
    mine = Lease.mine()
    assert queue.claim(mine) is None  # its worker may still be alive over there
    queue.db.write(lambda conn: conn.execute(
        "UPDATE bg_runs SET heartbeat = ? WHERE id = 'remote'", (now - 31,)))
    again = queue.claim(mine)
    assert again is not None
    assert (again.id, again.attempts, again.worker) == (
        "remote", 2, f"{mine.pid}@{mine.host}")
    assert not queue.finish("remote", "far", Status.SUCCEEDED, None)  # no longer its run
    queue.close()


def test_a_stop_signal_takes_no_lock_the_interrupted_code_may_hold(db: Path) -> None:
    """A signal handler runs between two instructions of whatever the worker's thread was
    doing, perhaps inside one of its events' locks: asking for a stop from there must not
    wait for them (it would wait forever)."""
    worker = Worker(db, poll=0.05)
    with worker._wake._cond, worker._stopping._cond, worker._hurry._cond, worker._lock:
        assert worker.signal_stop() == 1
        assert worker.stopping
        assert worker.signal_stop() == 2
    worker.run()  # returns at once: a stop was asked for
    assert worker.stop() == []
