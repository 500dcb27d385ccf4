"""Where actions run: worker processes (results, errors, retries, dying workers, hooks, logs).

Everything a worker process runs is defined at module level here: a worker finds task
functions and process definitions by reference (module and name), and this module is
importable in the workers (pytest puts this folder on ``sys.path``). Steps that must overlap
meet at a file-based rendezvous, which works across processes, so no test depends on timing.
"""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import ClassVar

from support import nodes_of

from tasktronaut import (
    Asset,
    Builder,
    CancelProcessError,
    Context,
    ExecutionMode,
    NodeStatus,
    ProcessDefinition,
    TaskTimeoutError,
    TasktronautError,
    collection,
    log,
    ref,
    task,
)
from tasktronaut.model import traverse
from tasktronaut.workers import RemoteTraceback, WorkerError

CONCURRENT = ExecutionMode.CONCURRENT
PARENT = os.getpid()


def rendezvous(folder: str, me: str, *others: str, timeout: float = 30) -> None:
    """Leave a file named ``me`` in ``folder`` and wait until ``others`` have left theirs."""
    where = Path(folder)
    (where / me).touch()
    deadline = time.monotonic() + timeout
    while not all((where / other).exists() for other in others):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{me}: {', '.join(others)} did not arrive within {timeout}s")
        time.sleep(0.005)


def burn(n: int = 200_000) -> int:
    """Some pure-Python CPU work."""
    return sum(i * i for i in range(n))


def run_with_deadline(fn, seconds: float = 60):
    """Run ``fn`` in a thread; fail (instead of hanging the suite) if it does not return."""
    outcome: dict = {}

    def target() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as e:
            outcome["error"] = e

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"the run did not finish within {seconds}s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


# -- asset tasks run in worker processes --------------------------------------------------------


@task(executor="process")
def pid_file(path: Path):
    """Write the worker's pid to ``path``."""
    yield f"pid file {path.name}"
    yield Asset(path, path.is_file)
    yield None
    path.write_text(str(os.getpid()))


@task(executor="process")
def total_file(path: Path, parts: list[Path]):
    """Requires pid files and writes how many there are; its action reads their refs."""
    yield f"total file {path.name}"
    yield Asset(path, path.is_file)
    needed = [pid_file(part) for part in parts]
    yield needed
    path.write_text(str(sum(1 for node in needed if ref(node).is_file())))


@collection
def pid_files(paths: list[Path]):
    yield "pid files"
    yield [pid_file(p) for p in paths]


@task(executor="process")
def in_memory(box: list):
    """An asset the parent cannot see change: the action runs on a copy in the worker."""
    yield "in memory"
    yield Asset(box, lambda: bool(box))
    yield None
    box.append(1)


class StepError(Exception):
    """An error of our own, to check that the type survives the trip back."""

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code


@task(executor="process")
def broken_file(path: Path):
    yield f"broken file {path.name}"
    yield Asset(path, path.is_file)
    yield None
    raise StepError(f"cannot write {path.name}", code=42)


class TwoArgumentError(Exception):
    """Pickles, but does not unpickle: ``__init__`` takes two arguments, ``args`` has one."""

    def __init__(self, what: str, why: str) -> None:
        super().__init__(f"{what}: {why}")


@task(executor="process")
def badly_failing(path: Path):
    yield f"badly failing {path.name}"
    yield Asset(path, path.is_file)
    yield None
    raise TwoArgumentError("badly failing", "on purpose")


@task(executor="process", retries=1)
def flaky_file(path: Path):
    """Fails on its first attempt (counted in a file, since attempts run in other processes)."""
    yield f"flaky file {path.name}"
    yield Asset(path, path.is_file)
    yield None
    attempts = path.with_suffix(".attempts")
    with attempts.open("a") as f:
        f.write(f"{os.getpid()}\n")
    if len(attempts.read_text().split()) == 1:
        raise RuntimeError("first attempt fails")
    path.write_text("ok")


@task(executor="process")
def with_lock(path: Path, lock):
    yield f"with lock {path.name}"
    yield Asset(path, path.is_file)
    yield None
    path.write_text("never")


@task(executor="process")
def chatty_file(path: Path, lines: int):
    """Logs ``lines`` lines through ``log`` in the worker, then writes its file."""
    yield f"chatty file {path.name}"
    yield Asset(path, path.is_file)
    yield None
    for i in range(lines):
        log.info("chatty %d from %s", i, os.getpid())
    path.write_text("done")


def test_asset_tasks_run_in_worker_processes(tmp_path):
    paths = [tmp_path / "a", tmp_path / "b"]
    root = pid_files(paths, processes=2)
    assert root.ready
    pids = {int(p.read_text()) for p in paths}
    assert PARENT not in pids


def test_a_task_in_a_worker_is_called_afresh_and_reads_its_requirements(tmp_path):
    parts = [tmp_path / "a", tmp_path / "b"]
    root = total_file(tmp_path / "total", parts, processes=2)
    assert root.ready
    assert (tmp_path / "total").read_text() == "2"


def test_an_asset_the_parent_cannot_observe_stays_not_ready():
    box: list = []
    root = in_memory(box, processes=1)
    assert root.status is NodeStatus.NOT_READY
    assert box == []


def test_an_exception_keeps_its_type_and_brings_the_remote_traceback(tmp_path):
    root = broken_file(tmp_path / "x", processes=1)
    assert root.status is NodeStatus.FAILED
    error = root.error
    assert isinstance(error, StepError)
    assert str(error) == "cannot write x"
    assert error.code == 42
    assert isinstance(error.__cause__, RemoteTraceback)
    assert "broken_file" in error.__cause__.text
    assert 'raise StepError(f"cannot write {path.name}", code=42)' in error.__cause__.text


def test_an_exception_that_cannot_be_unpickled_still_fails_only_its_task(tmp_path):
    root = run_with_deadline(lambda: badly_failing(tmp_path / "x", processes=1))
    assert root.status is NodeStatus.FAILED
    assert "badly failing: on purpose" in str(root.error)


def test_a_process_task_is_retried_after_a_failed_first_attempt(tmp_path, logs):
    root = flaky_file(tmp_path / "f", processes=1)
    assert root.ready
    assert root.attempt == 2
    assert len((tmp_path / "f.attempts").read_text().split()) == 2
    assert any("Attempt 1 of 2 failed: first attempt fails" in line for line in logs)


def test_an_unpicklable_argument_fails_the_task_naming_task_and_argument(tmp_path):
    root = with_lock(tmp_path / "x", threading.Lock(), processes=1)
    assert root.status is NodeStatus.FAILED
    message = str(root.error)
    assert "with lock x" in message
    assert "argument 1" in message
    assert "lock" in message
    assert "cannot be pickled" in message
    assert not (tmp_path / "x").exists()


def test_a_task_function_defined_in_a_function_fails_with_a_clear_error(tmp_path):
    @task(executor="process")
    def local_task(path: Path):
        yield f"local {path.name}"
        yield Asset(path, path.is_file)
        yield None
        path.write_text("never")

    root = local_task(tmp_path / "x", processes=1)
    assert root.status is NodeStatus.FAILED
    assert "local x" in str(root.error)
    assert "defined inside a function" in str(root.error)


def test_every_line_logged_by_the_last_task_arrives_before_the_run_returns(tmp_path, logs):
    root = chatty_file(tmp_path / "c", 200, processes=1)
    assert root.ready
    assert sum(1 for line in logs if "chatty" in line and " from " in line) == 200


# -- process steps in worker processes -----------------------------------------------------------


class Results(ProcessDefinition):
    """A step in a worker, one reading its result (by name), then one on a thread."""

    def define_process(self, builder: Builder) -> None:
        builder.expected_arguments(base=int)
        builder.task(self.square, executor="process")
        builder.task(self.by_name, executor="process")
        builder.task(self.where, executor="thread")

    def square(self, base: int) -> dict:
        return {"value": base * base, "pid": os.getpid()}

    def by_name(self, context: Context) -> list:
        return [context.result("Results.square")["value"] + 1, sorted(context.results)]

    def where(self) -> int:
        return os.getpid()


def test_step_results_come_back_and_reach_later_steps():
    root = Results.run(base=7, processes=1)
    assert root.ready
    results = root.ref
    assert results["Results.square"]["value"] == 49
    assert results["Results.square"]["pid"] != PARENT
    assert results["Results.by_name"] == [50, ["Results.square"]]
    assert results["Results.where"] == PARENT


def test_a_remote_step_node_has_its_result_like_a_thread_step():
    nodes = nodes_of(Results.run(base=7, processes=1))
    assert nodes["Results.where"].result == PARENT
    square = nodes["Results.square"]
    assert square.result == square.ref
    assert square.result["value"] == 49


class ResultByMethod(ProcessDefinition):
    """``context.result(self.step)``, the documented way, inside a worker process."""

    def define_process(self, builder: Builder) -> None:
        builder.task(self.first, executor="process")
        builder.task(self.second, executor="process")

    def first(self) -> int:
        return 49

    def second(self, context: Context) -> int:
        return context.result(self.first) + 1


def test_a_step_in_a_worker_reads_an_earlier_result_by_method():
    root = ResultByMethod.run(processes=1)
    second = nodes_of(root)["ResultByMethod.second"]
    assert second.error is None
    assert root.ready
    assert root.ref["ResultByMethod.second"] == 50


class Where(ProcessDefinition):
    """Which executor each step runs on: the node's option wins over the run's default."""

    def define_process(self, builder: Builder) -> None:
        builder.task(self.default)
        builder.task(self.on_thread, executor="thread")
        builder.task(self.marked)

    def default(self) -> int:
        return os.getpid()

    def on_thread(self) -> int:
        return os.getpid()

    @task(executor="process")
    def marked(self) -> int:
        return os.getpid()


def test_the_run_default_sends_unmarked_steps_to_processes():
    results = Where.run(executor="process", processes=1).ref
    assert results["Where.default"] != PARENT
    assert results["Where.on_thread"] == PARENT
    assert results["Where.marked"] != PARENT


def test_the_thread_default_keeps_unmarked_steps_here():
    results = Where.run().ref
    assert results["Where.default"] == PARENT
    assert results["Where.on_thread"] == PARENT
    assert results["Where.marked"] != PARENT


class Flaky(ProcessDefinition):
    def define_process(self, builder: Builder) -> None:
        builder.task(self.flaky, executor="process", retries=1)

    def flaky(self, context: Context) -> tuple:
        if context.attempt == 1:
            raise RuntimeError("first attempt fails")
        return context.attempt, os.getpid()


def test_a_process_step_is_retried_with_its_attempt_number():
    root = Flaky.run()
    assert root.ready
    attempt, pid = root.ref["Flaky.flaky"]
    assert attempt == 2
    assert pid != PARENT


class Hooked(ProcessDefinition):
    """Records where each hook runs; the steps report where they ran."""

    process_execution_mode = CONCURRENT
    calls: ClassVar[list] = []

    def define_process(self, builder: Builder) -> None:
        builder.task(self.work, executor="process")
        if builder.option("fail", False):
            builder.task(self.fail, executor="process")

    def work(self) -> int:
        return os.getpid()

    def fail(self) -> None:
        raise StepError("step failed")

    def on_started(self, identifier) -> None:
        self.calls.append(("on_started", identifier, os.getpid()))

    def around_task(self, identifier, step, description, context):
        calls = self.calls

        class Around:
            def __enter__(self) -> None:
                calls.append(("enter", step, os.getpid()))

            def __exit__(self, kind, error, tb) -> None:
                calls.append(("exit", step, kind, os.getpid()))

        return Around()

    def on_completed(self, identifier) -> None:
        self.calls.append(("on_completed", identifier, os.getpid()))

    def on_failed(self, identifier, step, error) -> None:
        self.calls.append(("on_failed", step, type(error), os.getpid()))


def test_hooks_run_in_the_parent_and_steps_in_a_worker():
    Hooked.calls = []
    root = Hooked.run("h1", processes=1)
    assert root.ready
    assert root.ref["Hooked.work"] != PARENT
    assert Hooked.calls == [
        ("on_started", "h1", PARENT),
        ("enter", "Hooked.work", PARENT),
        ("exit", "Hooked.work", None, PARENT),
        ("on_completed", "h1", PARENT),
    ]


def test_a_failing_remote_step_calls_on_failed_in_the_parent():
    Hooked.calls = []
    root = Hooked.run("h2", options={"fail": True}, processes=2)
    assert not root.ready
    failed = nodes_of(root)["Hooked.fail"]
    assert isinstance(failed.error, StepError)
    calls = Hooked.calls
    assert ("exit", "Hooked.fail", StepError, PARENT) in calls
    assert ("on_failed", "Hooked.fail", StepError, PARENT) in calls
    assert ("on_completed", "h2", PARENT) not in calls
    assert all(call[-1] == PARENT for call in calls)


class Unpicklable(ProcessDefinition):
    def define_process(self, builder: Builder) -> None:
        builder.task(self.use_lock, executor="process")
        builder.task(self.return_lock, executor="process")

    def use_lock(self, lock) -> str:
        return "never"

    def return_lock(self) -> threading.Lock:
        return threading.Lock()


def test_an_unpicklable_step_argument_names_the_step_and_the_argument():
    root = Unpicklable.run(lock=threading.Lock())
    node = nodes_of(root)["Unpicklable.use_lock"]
    assert node.status is NodeStatus.FAILED
    message = str(node.error)
    assert "Unpicklable.use_lock" in message
    assert "argument 'lock'" in message


class ReturnsLock(ProcessDefinition):
    def define_process(self, builder: Builder) -> None:
        builder.task(self.return_lock, executor="process")

    def return_lock(self) -> threading.Lock:
        return threading.Lock()


def test_an_unpicklable_result_fails_the_step_with_a_clear_error():
    root = ReturnsLock.run()
    node = nodes_of(root)["ReturnsLock.return_lock"]
    assert node.status is NodeStatus.FAILED
    assert isinstance(node.error, TasktronautError)
    assert "result could not be sent back" in str(node.error)
    assert "lock" in str(node.error)


class Logging(ProcessDefinition):
    def define_process(self, builder: Builder) -> None:
        builder.task(self.talk, executor="process")
        builder.task(self.after)

    def talk(self, context: Context) -> int:
        log.info("talking from %s", os.getpid())
        context.log.warning("warning from the worker")
        return os.getpid()

    def after(self) -> None:
        """Gives the forwarded lines time to arrive: this test is about where they go."""
        time.sleep(0.5)


def test_step_logs_are_forwarded_with_their_levels(logs):
    root = Logging.run()
    pid = root.ref["Logging.talk"]
    assert pid != PARENT
    assert f"INFO talking from {pid}" in logs
    assert "WARNING warning from the worker" in logs


# -- parallelism and dying workers ---------------------------------------------------------------


class CpuPair(ProcessDefinition):
    """Two CPU-bound steps that can only finish if they run at the same time."""

    process_execution_mode = CONCURRENT

    def define_process(self, builder: Builder) -> None:
        builder.expected_arguments(folder=str)
        builder.task(self.left)
        builder.task(self.right)

    def left(self, folder: str) -> int:
        burn()
        rendezvous(folder, "left", "right")
        burn()
        return os.getpid()

    def right(self, folder: str) -> int:
        burn()
        rendezvous(folder, "right", "left")
        burn()
        return os.getpid()


def test_cpu_bound_steps_run_in_two_processes_at_once(tmp_path):
    root = CpuPair.run(folder=str(tmp_path), executor="process", processes=2)
    assert root.ready, [str(n.error) for n in traverse(root) if n.error]
    pids = {root.ref["CpuPair.left"], root.ref["CpuPair.right"]}
    assert len(pids) == 2
    assert PARENT not in pids


class Crash(ProcessDefinition):
    """One step kills its worker; the others finish, two of them after it, side by side."""

    process_execution_mode = CONCURRENT

    def define_process(self, builder: Builder) -> None:
        builder.expected_arguments(folder=str)
        builder.task(self.crash)
        builder.task(self.during)
        builder.task(self.after, description="after 1")
        builder.task(self.after, description="after 2")

    def crash(self, folder: str) -> None:
        Path(folder, "crash.pid").write_text(str(os.getpid()))
        os._exit(7)

    def during(self, folder: str) -> int:
        rendezvous(folder, "during", "crash.pid")
        return os.getpid()

    def after(self, folder: str, context: Context) -> int:
        me, other = ("after1", "after2") if context.step == "after 1" else ("after2", "after1")
        rendezvous(folder, me, other)
        return os.getpid()


def test_a_dying_worker_fails_only_its_task_and_is_replaced(tmp_path):
    root = run_with_deadline(
        lambda: Crash.run(folder=str(tmp_path), executor="process", processes=2), 60)
    nodes = nodes_of(root)
    crash = nodes["Crash.crash"]
    assert crash.status is NodeStatus.FAILED
    assert isinstance(crash.error, WorkerError)
    assert str(crash.error) == "the worker process running it died (exit code 7)"
    assert {name: nodes[name].status for name in ("Crash.during", "after 1", "after 2")} == \
        dict.fromkeys(("Crash.during", "after 1", "after 2"), NodeStatus.READY)
    crashed = int((tmp_path / "crash.pid").read_text())
    during = nodes["Crash.during"].ref
    after = {nodes["after 1"].ref, nodes["after 2"].ref}
    # "after 1" and "after 2" ran at the same time on the only two workers left: the one that
    # ran "during", and the replacement of the one that died.
    assert len(after) == 2
    assert crashed not in after
    assert after - {during}


class Stuck(ProcessDefinition):
    """A step that would run for a minute, stopped by its timeout; the next one still runs."""

    process_execution_mode = CONCURRENT

    def define_process(self, builder: Builder) -> None:
        builder.expected_arguments(folder=str)
        builder.task(self.stuck, executor="process", timeout=1)
        builder.task(self.next_one, executor="process")

    def stuck(self, folder: str) -> None:
        Path(folder, "stuck.pid").write_text(str(os.getpid()))
        time.sleep(60)

    def next_one(self) -> int:
        return os.getpid()


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting to be reaped does not count)."""
    status = Path(f"/proc/{pid}/status")
    try:
        return "zombie" not in status.read_text()
    except FileNotFoundError:
        return False


def test_a_timed_out_process_action_is_stopped_and_its_worker_replaced(tmp_path):
    root = run_with_deadline(lambda: Stuck.run(folder=str(tmp_path), processes=1), 60)
    nodes = nodes_of(root)
    assert isinstance(nodes["Stuck.stuck"].error, TaskTimeoutError)
    pid = int((tmp_path / "stuck.pid").read_text())
    assert not _alive(pid)
    # With one worker, the step parked behind the stuck one runs on its replacement.
    assert nodes["Stuck.next_one"].error is None
    assert nodes["Stuck.next_one"].status is NodeStatus.READY
    assert nodes["Stuck.next_one"].ref not in (pid, PARENT)


def test_the_cpu_process_example_counts_primes_in_worker_processes(monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent.parent / "examples"))
    example = importlib.import_module("cpu_process")
    serial = example.PrimeCount.run(limit=20_000, chunks=3, options={"executor": "thread"})
    parallel = example.PrimeCount.run(limit=20_000, chunks=3, processes=2)
    assert serial.ref["PrimeCount.total"] == parallel.ref["PrimeCount.total"] == 2262


class Cancelled(ProcessDefinition):
    """A step on a thread cancels the process while a step in a worker is polling for it."""

    process_execution_mode = CONCURRENT

    def define_process(self, builder: Builder) -> None:
        builder.expected_arguments(folder=str)
        builder.task(self.poll, executor="process")
        builder.task(self.cancel)

    def poll(self, folder: str, context: Context) -> str:
        Path(folder, "polling").touch()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if context.cancelled:
                return "saw the cancellation"
            time.sleep(0.02)
        return "never saw the cancellation"

    def cancel(self, folder: str) -> None:
        rendezvous(folder, "cancelling", "polling")
        raise CancelProcessError("enough")


def test_a_step_in_a_worker_sees_the_cancellation_or_is_stopped(tmp_path):
    root = run_with_deadline(lambda: Cancelled.run(folder=str(tmp_path), threads=2), 60)
    assert root.status is not NodeStatus.READY
    poll = nodes_of(root)["Cancelled.poll"]
    # Either the step saw context.cancelled, or the run stopped it: it must not run on as if
    # nothing had happened.
    assert poll.ref != "never saw the cancellation"


DRIVER = """
import os, sys, time
from pathlib import Path

from tasktronaut import ExecutionMode, ProcessDefinition


class Short(ProcessDefinition):
    process_execution_mode = ExecutionMode.CONCURRENT

    def define_process(self, builder):
        builder.expected_arguments(folder=str)
        builder.task(self.short, description="one")
        builder.task(self.short, description="two")

    def short(self, folder, context):
        Path(folder, f"{context.step}.pid").write_text(str(os.getpid()))
        time.sleep(1)
        return 1


if __name__ == "__main__":
    import driver

    driver.Short.run(folder=sys.argv[1], executor="process", processes=2)
"""


def test_workers_do_not_outlive_a_driver_that_was_killed(tmp_path):
    (tmp_path / "driver.py").write_text(textwrap.dedent(DRIVER))
    repo = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [repo, os.environ.get("PYTHONPATH")]))}
    driver = subprocess.Popen([sys.executable, str(tmp_path / "driver.py"), str(tmp_path)],
                              cwd=tmp_path, env=env, stderr=subprocess.DEVNULL)
    pid_files = [tmp_path / "one.pid", tmp_path / "two.pid"]
    try:
        deadline = time.monotonic() + 30
        while not all(f.exists() for f in pid_files) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert all(f.exists() for f in pid_files), "the driver never started its steps"
        workers = [int(f.read_text()) for f in pid_files]
    finally:
        driver.kill()
        driver.wait()
    # The steps end a second later; with nobody left to send them work, the workers must go.
    deadline = time.monotonic() + 10
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = [w for w in workers if _alive(w)]
    for worker in alive:
        os.kill(worker, signal.SIGKILL)
    assert not alive, "worker processes still running 10 s after their driver died"
