"""Failure semantics: timeouts, cancelling from outside, SIGTERM, and what is not redone."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import ClassVar

from tasktronaut import (
    Asset,
    CancelProcessError,
    Context,
    ExecutionMode,
    NodeStatus,
    ProcessDefinition,
    TaskTimeoutError,
    collection,
    task,
)
from tasktronaut.model import traverse


def _statuses(root) -> dict[str, NodeStatus]:
    return {node.taskname: node.status for node in traverse(root)}


def test_a_thread_action_past_its_timeout_fails_and_is_abandoned(logs):
    release = threading.Event()
    done: set[str] = set()

    @task(timeout=0.2)
    def stuck():
        yield "stuck"
        yield Asset(None, lambda: "stuck" in done)
        yield None
        release.wait(60)

    @task
    def fine():
        yield "fine"
        yield Asset(None, lambda: "fine" in done)
        yield None
        done.add("fine")

    @collection
    def both():
        yield "both"
        yield [stuck(), fine()]

    try:
        root = both()
    finally:
        release.set()
    statuses = _statuses(root)
    assert statuses["stuck"] is NodeStatus.FAILED
    assert statuses["fine"] is NodeStatus.READY
    assert isinstance(next(n for n in traverse(root) if n.taskname == "stuck").error,
                      TaskTimeoutError)
    assert "ERROR stuck: Task failed: Task 'stuck' timed out after 0.2s" in logs


def test_a_timed_out_attempt_is_retried_and_its_late_outcome_ignored():
    attempts: list[int] = []
    first_may_finish = threading.Event()
    done: set[str] = set()

    @task(timeout=2.0, retries=1)
    def slow_then_fast():
        yield "slow then fast"
        yield Asset(None, lambda: "ok" in done)
        yield None
        attempts.append(len(attempts) + 1)
        if len(attempts) == 1:
            first_may_finish.wait(60)
            return
        done.add("ok")

    root = slow_then_fast(threads=2)
    first_may_finish.set()
    assert root.ready
    assert attempts == [1, 2]


class Cooperative(ProcessDefinition):
    """A step that checks context.cancelled while it waits."""

    started = threading.Event()

    def define_process(self, builder):
        builder.task(self.wait)
        builder.task(self.never)

    def wait(self, context: Context):
        Cooperative.started.set()
        while not context.cancelled:
            threading.Event().wait(0.01)
        return "saw the cancel"

    def never(self):
        raise AssertionError("must not start after a cancel")

    cancelled: ClassVar[list[str | None]] = []

    def on_cancelled(self, identifier):
        Cooperative.cancelled.append(identifier)


def test_a_run_cancelled_from_another_thread_stops_and_steps_see_it():
    root = Cooperative.build("c-1")
    outcome: list = []
    runner = threading.Thread(target=lambda: outcome.append(root.run(threads=2)))
    runner.start()
    assert Cooperative.started.wait(60)
    root.cancel()
    runner.join(60)
    assert not runner.is_alive()
    result = outcome[0]
    assert not result.ready
    statuses = _statuses(result)
    assert statuses["Cooperative.wait"] is NodeStatus.READY
    assert statuses["Cooperative.never"] is NodeStatus.SKIPPED
    assert Cooperative.cancelled == ["c-1"]


class SelfCancel(ProcessDefinition):
    process_execution_mode = ExecutionMode.SEQUENTIAL
    log: ClassVar[list[str]] = []

    def define_process(self, builder):
        builder.task(self.first)
        builder.task(self.stop)
        builder.task(self.after)

    def first(self):
        SelfCancel.log.append("first")

    def stop(self):
        raise CancelProcessError("enough")

    def after(self):
        SelfCancel.log.append("after")

    def on_failed(self, identifier, step, error):
        SelfCancel.log.append("failed")

    def on_completed(self, identifier):
        SelfCancel.log.append("completed")

    def on_cancelled(self, identifier):
        SelfCancel.log.append("cancelled")


def test_cancel_process_error_runs_only_on_cancelled(logs):
    root = SelfCancel.run()
    assert not root.ready
    assert SelfCancel.log == ["first", "cancelled"]
    assert _statuses(root)["SelfCancel.stop"] is NodeStatus.CANCELLED
    assert "WARNING SelfCancel.stop: Cancelled: enough" in logs


TERMINATED = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from tasktronaut import ProcessDefinition, logcfg

    work = Path(sys.argv[1])
    logcfg()

    class Steps(ProcessDefinition):
        def define_process(self, builder):
            builder.task(self.slow)
            builder.task(self.later)

        def slow(self):
            (work / "slow-started").touch()
            while not (work / "go").exists():
                time.sleep(0.01)
            (work / "slow-done").touch()

        def later(self):
            (work / "later").touch()

    root = Steps.build("t").run(state=work / "state.db")
    print("READY" if root.ready else f"NOT READY {root.interrupted}", flush=True)
    """
)


def test_sigterm_finishes_the_running_step_and_a_rerun_does_only_the_rest(tmp_path):
    script = tmp_path / "steps.py"
    script.write_text(TERMINATED)
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while not (tmp_path / "slow-started").exists():
        assert proc.poll() is None, proc.communicate()
        threading.Event().wait(0.01)
    proc.send_signal(signal.SIGTERM)
    assert proc.stderr is not None
    for line in proc.stderr:
        if "Interrupted by SIGTERM" in line:
            break
    (tmp_path / "go").touch()
    out, _ = proc.communicate(timeout=60)
    assert out.strip() == f"NOT READY {int(signal.SIGTERM)}"
    assert (tmp_path / "slow-done").exists()
    assert not (tmp_path / "later").exists()
    (tmp_path / "slow-done").unlink()
    again = subprocess.run([sys.executable, str(script), str(tmp_path)],
                           capture_output=True, text=True, timeout=120)
    assert again.stdout.strip() == "READY", again.stderr
    assert (tmp_path / "later").exists()
    assert not (tmp_path / "slow-done").exists()  # the completed step was not redone


def test_a_failed_requirement_blocks_its_dependents_and_names_itself(logs):
    done: set[str] = set()

    @task
    def broken():
        yield "broken"
        yield Asset(None, lambda: False)
        yield None
        raise OSError("disk on fire")

    @task
    def needs_it():
        yield "needs it"
        yield Asset(None, lambda: "needs" in done)
        yield broken()
        done.add("needs")

    root = needs_it()
    assert not root.ready
    assert done == set()
    assert "WARNING needs it: ✖ broken" in logs
    assert _statuses(root)["broken"] is NodeStatus.FAILED
    assert _statuses(root)["needs it"] is NodeStatus.NOT_READY


def test_an_interrupted_run_leaves_no_signal_handler_behind_and_reports_none_when_clean():
    done: set[str] = set()

    @task
    def quick():
        yield "quick"
        yield Asset(None, lambda: "q" in done)
        yield None
        done.add("q")

    before = signal.getsignal(signal.SIGTERM)
    root = quick()
    assert root.interrupted is None
    assert signal.getsignal(signal.SIGTERM) is before


def test_dry_run_leaves_everything_as_it_was(tmp_path):
    path = tmp_path / "made"

    @task
    def make():
        yield "make"
        yield Asset(path, path.exists)
        yield None
        path.touch()

    assert not make(dry_run=True).ready
    assert not Path(path).exists()
