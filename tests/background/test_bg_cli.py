"""The command line of background runs: submit, status, wait, cancel, runs, worker, schedule."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from bg_flows import lines, target, until, worker_process
from click.testing import CliRunner

from tasktronaut.background import SQLiteQueue, Status
from tasktronaut.cli.commands import cli


def _cli(*args: object) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def test_submit_prints_the_id_and_a_worker_runs_it(tmp_path: Path) -> None:
    db, out = tmp_path / "state.db", tmp_path / "out"
    code, stdout, _ = _cli("submit", target("Appender"), "--arg", f"out={out}",
                           "--arg", "steps=2", "--arg", "pause=0", "--id", "job1",
                           "--state", db)
    assert (code, stdout) == (0, "job1\n")
    code, stdout, _ = _cli("status", "job1", "--state", db)
    assert code == 1
    assert stdout.startswith("job1  queued")
    code, stdout, _ = _cli("runs", "--status", "queued", "--state", db)
    assert stdout.startswith("job1  queued")
    assert stdout.count("\n") == 1
    assert worker_process(db, "--burst").wait(60) == 0
    code, stdout, _ = _cli("wait", "job1", "--timeout", "30", "--state", db)
    assert code == 0
    assert stdout.startswith("job1  succeeded")
    code, stdout, _ = _cli("status", "job1", "--state", db)
    assert code == 0
    assert "  done: step-0\n  done: step-1\n" in stdout
    assert lines(out) == ["job1 step-0", "job1 step-1"]
    assert _cli("runs", "--status", "queued", "--state", db)[1] == ""


def test_the_status_choices_are_the_statuses() -> None:
    from tasktronaut.cli.background import STATUSES

    assert tuple(s.value for s in Status) == STATUSES


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    cases = [
        (("submit", "nosuch.module:Thing", "--state", db), "no module named 'nosuch.module'"),
        (("submit", target("Appender"), "--state", db), "missing argument 'out'"),
        (("status", "nope", "--state", db), "no state file at"),
        (("worker", "--concurrency", "0", "--state", db), "--concurrency must be at least 1"),
        (("worker", "--concurrency", "2", "--rq", "redis://127.0.0.1:1/0"),
         "--concurrency applies to the embedded queue"),
        (("schedule", "add", "n", target("Once"), "--arg", "out=x", "--arg", "pause=0",
          "--cron", "bad", "--state", db), "cron must be a cron expression"),
        (("schedule", "add", "n", target("Once"), "--arg", "out=x", "--arg", "pause=0",
          "--at", "tomorrow", "--state", db), "--at must be an ISO time"),
    ]
    for args, message in cases:
        code, _, stderr = _cli(*args)
        assert code == 2, (args, stderr)
        assert stderr.count("\n") == 1, stderr
        assert message in stderr, stderr
    _cli("submit", target("Once"), "--arg", "out=x", "--arg", "pause=0", "--state", db)
    code, _, stderr = _cli("status", "nope", "--state", db)
    assert (code, stderr) == (2, "Error: no background run 'nope'\n")
    code, _, stderr = _cli("schedule", "remove", "nope", "--state", db)
    assert (code, stderr) == (2, "Error: no schedule named 'nope'\n")


def test_schedule_add_list_remove(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    code, stdout, _ = _cli("schedule", "add", "nightly", target("Once"), "--arg", "out=x",
                           "--arg", "pause=0", "--cron", "0 2 * * *", "--state", db)
    assert code == 0
    assert stdout.startswith("nightly: cron '0 2 * * *', next ")
    _cli("schedule", "add", "often", target("Once"), "--arg", "out=x", "--arg", "pause=0",
         "--every", "30", "--state", db)
    code, stdout, _ = _cli("schedule", "list", "--state", db)
    names = [line.split()[0] for line in stdout.splitlines()]
    assert names == ["nightly", "often"]
    assert "every 30s" in stdout
    assert _cli("schedule", "remove", "often", "--state", db)[:2] == (
        0, "removed schedule often\n")
    assert [ln.split()[0] for ln in _cli("schedule", "list", "--state", db)[1].splitlines()] \
        == ["nightly"]


def test_sigterm_to_the_worker_group_hands_back_its_run_and_releases_the_lease(
        tmp_path: Path) -> None:
    db, out = tmp_path / "state.db", str(tmp_path / "out")
    _cli("submit", target("Appender"), "--arg", f"out={out}", "--arg", "steps=5",
         "--arg", "pause=0.4", "--id", "t1", "--state", db)
    proc = worker_process(db, "--grace", "0.2", start_new_session=True)
    until(lambda: len(lines(out)) >= 1, what="a first step")
    sent = time.monotonic()
    os.killpg(proc.pid, signal.SIGTERM)  # what systemd and container stops do
    assert proc.wait(30) == 0
    assert time.monotonic() - sent < 5
    assert proc.stderr is not None
    assert "handed back t1" in proc.stderr.read()
    queue = SQLiteQueue(db)
    record = queue.get("t1")
    assert record is not None
    assert record.status is Status.QUEUED
    assert queue.store.lease("t1") is None  # the next worker need not wait for it
    queue.close()
    started = time.monotonic()
    assert worker_process(db, "--burst").wait(60) == 0
    assert time.monotonic() - started < 20
    done = lines(out)
    assert sorted(set(done)) == [f"t1 step-{i}" for i in range(5)]
    assert len(done) <= 6  # at most the step cut short by the stop is done again


def test_sigterm_with_enough_grace_lets_the_run_finish(tmp_path: Path) -> None:
    db, out = tmp_path / "state.db", str(tmp_path / "out")
    _cli("submit", target("Appender"), "--arg", f"out={out}", "--arg", "steps=3",
         "--arg", "pause=0.3", "--id", "t2", "--state", db)
    proc = worker_process(db, "--grace", "30", start_new_session=True)
    until(lambda: len(lines(out)) >= 1, what="a first step")
    os.killpg(proc.pid, signal.SIGTERM)
    assert proc.wait(30) == 0
    assert lines(out) == [f"t2 step-{i}" for i in range(3)]
    queue = SQLiteQueue(db)
    assert queue.get("t2").status is Status.SUCCEEDED  # type: ignore[union-attr]
    queue.close()


def test_the_worker_program_serves_until_stopped(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    proc = worker_process(db)
    _cli("submit", target("Once"), "--arg", f"out={tmp_path / 'o'}", "--arg", "pause=0",
         "--id", "w1", "--state", db)
    until(lambda: lines(tmp_path / "o") == ["w1"], what="the run")
    proc.send_signal(signal.SIGINT)
    assert proc.wait(30) == 0
    assert proc.stderr is not None
    assert "worker: SIGINT: starting nothing new" in proc.stderr.read()


def test_a_second_sigterm_hands_back_at_once(tmp_path: Path) -> None:
    db, out = tmp_path / "state.db", str(tmp_path / "out")
    _cli("submit", target("Appender"), "--arg", f"out={out}", "--arg", "steps=5",
         "--arg", "pause=0.5", "--id", "t3", "--state", db)
    proc = worker_process(db, "--grace", "60")
    until(lambda: len(lines(out)) >= 1, what="a first step")
    assert proc.stderr is not None
    proc.send_signal(signal.SIGTERM)
    for line in proc.stderr:
        if "starting nothing new" in line:
            break
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0  # not after the 60 s grace
    assert "handed back t3" in proc.stderr.read()
    queue = SQLiteQueue(db)
    assert queue.get("t3").status is Status.QUEUED  # type: ignore[union-attr]
    queue.close()


def test_a_worker_program_follows_a_schedule_added_on_the_command_line(tmp_path: Path) -> None:
    db, out = tmp_path / "state.db", tmp_path / "out"
    code, _, _ = _cli("schedule", "add", "often", target("Once"), "--arg", f"out={out}",
                      "--arg", "pause=0", "--every", "0.3", "--state", db)
    assert code == 0
    proc = worker_process(db)
    try:
        until(lambda: len(lines(out)) >= 2, what="two fires")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    fired = lines(out)
    assert all(f.startswith("often@") for f in fired)
    assert len(fired) == len(set(fired))
    code, stdout, _ = _cli("runs", "--status", "succeeded", "--state", db)
    assert [line.split()[0] for line in stdout.splitlines()] == fired
