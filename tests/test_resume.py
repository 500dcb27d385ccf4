"""Durable state: completed steps are recorded per identifier and a re-run resumes."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tasktronaut import ArgumentError, Context, ProcessDefinition
from tasktronaut.state import SQLiteStore


class Pipeline(ProcessDefinition):
    """Three steps; the second fails while a flag file exists."""

    def define_process(self, builder):
        builder.expected_arguments(workdir=str)
        builder.task(self.fetch)
        builder.task(self.transform)
        builder.task(self.publish)

    def _mark(self, workdir: str, name: str) -> None:
        with open(Path(workdir) / "ran.log", "a") as f:
            f.write(name + "\n")

    def fetch(self, workdir: str) -> int:
        self._mark(workdir, "fetch")
        return 41

    def transform(self, workdir: str, context: Context) -> int:
        self._mark(workdir, "transform")
        if (Path(workdir) / "broken").exists():
            raise RuntimeError("transform is broken")
        return context.result(self.fetch) + 1

    def publish(self, workdir: str, context: Context) -> str:
        self._mark(workdir, "publish")
        return f"published {context.result('Pipeline.transform')}"


def _ran(tmp_path: Path) -> list[str]:
    return (tmp_path / "ran.log").read_text().split()


def test_a_rerun_with_the_same_identifier_resumes_after_the_last_completed_step(tmp_path):
    state = tmp_path / "state.db"
    (tmp_path / "broken").touch()
    first = Pipeline.build("job-1", workdir=str(tmp_path)).run(state=state)
    assert not first.ready
    (tmp_path / "broken").unlink()
    second = Pipeline.build("job-1", workdir=str(tmp_path)).run(state=state)
    assert second.ready
    assert _ran(tmp_path) == ["fetch", "transform", "transform", "publish"]
    assert second.ref == {
        "Pipeline.fetch": 41, "Pipeline.transform": 42, "Pipeline.publish": "published 42",
    }


def test_a_completed_process_does_nothing_on_a_rerun(tmp_path):
    state = tmp_path / "state.db"
    Pipeline.build("job-2", workdir=str(tmp_path)).run(state=state)
    again = Pipeline.build("job-2", workdir=str(tmp_path)).run(state=state)
    assert again.ready
    assert _ran(tmp_path) == ["fetch", "transform", "publish"]


def test_other_identifiers_and_runs_without_state_start_fresh(tmp_path):
    state = tmp_path / "state.db"
    Pipeline.build("job-3", workdir=str(tmp_path)).run(state=state)
    Pipeline.build("job-4", workdir=str(tmp_path)).run(state=state)
    Pipeline.build("job-3", workdir=str(tmp_path)).run()
    assert _ran(tmp_path) == ["fetch", "transform", "publish"] * 3


def test_forgetting_a_step_makes_it_run_again(tmp_path):
    state = tmp_path / "state.db"
    Pipeline.build("job-5", workdir=str(tmp_path)).run(state=state)
    with SQLiteStore(state) as store:
        assert store.forget("job-5", "Pipeline.publish") == 1
    Pipeline.build("job-5", workdir=str(tmp_path)).run(state=state)
    assert _ran(tmp_path) == ["fetch", "transform", "publish", "publish"]


def test_a_state_store_needs_an_identifier(tmp_path):
    with pytest.raises(ArgumentError, match="give the process one"):
        Pipeline.build(workdir=str(tmp_path)).run(state=tmp_path / "state.db")


KILLED = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from tasktronaut import ProcessDefinition

    work = Path(sys.argv[1])

    class Count(ProcessDefinition):
        def define_process(self, builder):
            for i in range(6):
                with builder.transform(lambda i=i: {"n": i}) as b:
                    b.task(self.step, description=f"step {i}")

        def step(self, n):
            (work / f"ran-{n}-{time.monotonic_ns()}").touch()
            if n == 3 and not (work / "resumed").exists():
                print("STOP", flush=True)
                time.sleep(120)
            return n

    root = Count.build("counting").run(state=work / "state.db")
    print("READY" if root.ready else "NOT READY", flush=True)
    """
)


def test_a_killed_run_resumes_and_every_step_runs_exactly_once(tmp_path):
    script = tmp_path / "count.py"
    script.write_text(KILLED)
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "STOP"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    (tmp_path / "resumed").touch()
    for path in tmp_path.glob("ran-3-*"):
        path.unlink()  # step 3 was interrupted, not completed: it must run again
    done = subprocess.run([sys.executable, str(script), str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "READY", done.stderr
    ran = sorted(p.name.split("-")[1] for p in tmp_path.glob("ran-*"))
    assert ran == ["0", "1", "2", "3", "4", "5"]
