"""The run loop: interrupts, cycles, re-runs, fail-fast, progress listener, join reports."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tasktronaut import Asset, CycleError, NodeStatus, collection, task
from tasktronaut.model import traverse

INTERRUPTIBLE = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from tasktronaut import Asset, collection, logcfg, task

    base = Path(sys.argv[1])

    @task
    def slow():
        path = base / "slow"
        yield "slow"
        yield Asset(path, path.exists)
        yield None
        (base / "started").touch()
        while not (base / "go").exists():
            time.sleep(0.01)
        path.touch()

    @task
    def after():
        path = base / "after"
        yield "after"
        yield Asset(path, path.exists)
        yield slow()
        path.touch()

    @collection
    def everything():
        yield "everything"
        yield [after()]

    logcfg()
    root = everything()
    print("READY" if root.ready else "NOT READY", flush=True)
    """
)


def _start(tmp_path: Path) -> subprocess.Popen[str]:
    script = tmp_path / "flow.py"
    script.write_text(INTERRUPTIBLE)
    return subprocess.Popen(
        [sys.executable, str(script), str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _wait_for(path: Path, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the task never started"
        time.sleep(0.01)


def _interrupt(proc: subprocess.Popen[str]) -> str:
    """Send Ctrl-C and wait until the run says it was interrupted; return stderr so far."""
    proc.send_signal(signal.SIGINT)
    seen = []
    assert proc.stderr is not None
    for line in proc.stderr:
        seen.append(line)
        if "Interrupted" in line:
            return "".join(seen)
    raise AssertionError("no interrupt message: " + "".join(seen))


def test_first_ctrl_c_lets_the_running_action_finish_and_starts_nothing_new(tmp_path):
    proc = _start(tmp_path)
    _wait_for(tmp_path / "started", proc)
    early = _interrupt(proc)
    (tmp_path / "go").touch()
    out, err = proc.communicate(timeout=60)
    err = early + err
    assert proc.returncode == 0, err
    assert (tmp_path / "slow").exists()
    assert not (tmp_path / "after").exists()
    assert "Interrupted" in err
    assert "task(s) not started" in err
    assert out.strip() == "NOT READY"


def test_second_ctrl_c_aborts(tmp_path):
    proc = _start(tmp_path)
    _wait_for(tmp_path / "started", proc)
    _interrupt(proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "KeyboardInterrupt" in err
    assert not (tmp_path / "slow").exists()
    assert "READY" not in out


@task
def loop_a():
    yield "loop a"
    yield Asset("a", lambda: False)
    yield loop_b()


@task
def loop_b():
    yield "loop b"
    yield Asset("b", lambda: False)
    yield loop_a()


def test_a_requirement_cycle_is_an_error_naming_the_cycle():
    with pytest.raises(CycleError, match="loop a -> loop b -> loop a"):
        loop_a()


def _counting(store: dict[str, int], done: set[str], name: str, req=None):
    @task
    def make():
        yield name
        yield Asset(name, lambda: name in done)
        yield req
        store[name] = store.get(name, 0) + 1
        done.add(name)

    return make


def test_running_a_built_node_again_reads_readiness_afresh():
    runs: dict[str, int] = {}
    done: set[str] = set()
    node = _counting(runs, done, "thing").build()
    assert node.run().ready
    done.clear()
    again = node.run()
    assert again is not node
    assert again.ready
    assert runs == {"thing": 2}


def test_fail_fast_starts_nothing_after_the_first_failure():
    started: list[str] = []

    @task
    def boom():
        yield "boom"
        yield Asset(None, lambda: False)
        yield None
        started.append("boom")
        raise RuntimeError("boom")

    @task
    def fine(i):
        yield f"fine {i}"
        yield Asset(None, lambda: f"fine {i}" in started)
        yield None
        started.append(f"fine {i}")

    @collection
    def both():
        yield "both"
        yield [boom(), fine(1), fine(2)]

    root = both.build().run(fail_fast=True)
    assert started == ["boom"]
    assert not root.ready
    statuses = {n.taskname: n.status for n in traverse(root)}
    assert statuses["boom"] is NodeStatus.FAILED
    assert statuses["fine 1"] is NodeStatus.SKIPPED


def test_without_fail_fast_independent_tasks_still_run():
    done: set[str] = set()

    @task
    def boom():
        yield "boom"
        yield Asset(None, lambda: False)
        yield None
        raise RuntimeError("boom")

    @task
    def fine():
        yield "fine"
        yield Asset(None, lambda: "fine" in done)
        yield None
        done.add("fine")

    @collection
    def both():
        yield "both"
        yield [boom(), fine()]

    assert not both().ready
    assert done == {"fine"}


def test_listener_sees_every_visited_node_once():
    seen: list[str] = []
    runs: dict[str, int] = {}
    done: set[str] = set()
    first = _counting(runs, done, "first")

    @task
    def second():
        yield "second"
        yield Asset(None, lambda: "second" in done)
        yield first()
        done.add("second")

    root = second.build().run(listener=lambda node: seen.append(node.taskname))
    assert root.ready
    assert seen == ["first", "second"]


def test_threads_must_be_a_positive_integer():
    from tasktronaut import ArgumentError

    node = _counting({}, set(), "x").build()
    for bad in (0, -2, 1.5, "2"):
        with pytest.raises(ArgumentError, match="threads must be an integer >= 1"):
            node.run(threads=bad)


@pytest.mark.skipif(os.name != "posix", reason="signals")
def test_interrupt_handler_is_restored_after_a_run():
    before = signal.getsignal(signal.SIGINT)
    _counting({}, set(), "y")()
    assert signal.getsignal(signal.SIGINT) is before
