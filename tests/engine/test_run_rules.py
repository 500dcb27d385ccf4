"""One rule each, on every executor: what starts after a cancel, what a step's own
KeyboardInterrupt means, errors that cannot be printed, hooks that raise, how often an
external is observed, and how large the verbose task tree gets."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import ClassVar

import pytest
from support import nodes_of

from tasktronaut import (
    Asset,
    CancelProcessError,
    Context,
    ExecutionMode,
    NodeStatus,
    ProcessDefinition,
    collection,
    external,
    task,
)
from tasktronaut.model import traverse


class FiveAtOnce(ProcessDefinition):
    """The first step cancels the process; the second holds its worker until it sees that."""

    process_execution_mode = ExecutionMode.CONCURRENT
    started: ClassVar[list[str]] = []

    def define_process(self, builder):
        builder.task(self.cancel)
        for i in range(4):
            builder.task(self.work, description=f"work {i}")

    def cancel(self):
        FiveAtOnce.started.append("cancel")
        raise CancelProcessError("stop now")

    def work(self, context: Context):
        FiveAtOnce.started.append(context.step)
        deadline = time.monotonic() + 10
        while not context.cancelled and time.monotonic() < deadline:
            time.sleep(0.01)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_nothing_starts_after_a_cancel_even_when_steps_wait_for_a_worker(threads):
    FiveAtOnce.started = []
    root = FiveAtOnce.run(threads=threads)
    # Whatever was already running when the cancel came may finish; nothing new starts:
    # with n threads at most n - 1 other steps were running beside the cancelling one.
    others = [s for s in FiveAtOnce.started if s != "cancel"]
    assert len(others) <= threads - 1
    statuses = {n.taskname: n.status for n in traverse(root) if n.taskname.startswith("work")}
    assert all(s is not NodeStatus.NEW for s in statuses.values())
    assert sum(s is NodeStatus.SKIPPED for s in statuses.values()) >= 4 - (threads - 1)
    assert not root.ready


class CancelsOnWorkers(ProcessDefinition):
    process_execution_mode = ExecutionMode.CONCURRENT

    def define_process(self, builder):
        builder.expected_arguments(folder=str)
        builder.task(self.cancel, executor="thread")
        for i in range(4):
            builder.task(self.work, description=f"work {i}", executor="process")

    def cancel(self, folder):
        raise CancelProcessError("stop now")

    def work(self, folder, context: Context):
        Path(folder, context.step).touch()
        time.sleep(0.5)


def test_nothing_starts_after_a_cancel_on_worker_processes(tmp_path):
    root = CancelsOnWorkers.run(folder=str(tmp_path), processes=1, threads=1)
    statuses = [n.status for n in traverse(root) if n.taskname.startswith("work")]
    assert NodeStatus.NEW not in statuses  # every step has a final status
    assert len(list(tmp_path.iterdir())) <= 1
    assert not root.ready


@task
def interrupts_itself(kind: str):
    yield f"raises {kind}"
    yield Asset(kind, lambda: False)
    yield None
    raise KeyboardInterrupt if kind == "KeyboardInterrupt" else SystemExit(3)


@task
def independent(path: Path):
    yield "independent"
    yield Asset(path, path.exists)
    yield None
    path.touch()


@collection
def both(kind: str, path: Path):
    yield "both"
    yield [interrupts_itself(kind), independent(path)]


@pytest.mark.parametrize("kind", ["KeyboardInterrupt", "SystemExit"])
@pytest.mark.parametrize("threads", [1, 2])
def test_a_step_raising_keyboardinterrupt_or_systemexit_is_that_steps_failure(
        tmp_path, kind, threads, logs):
    path = tmp_path / "ran"
    root = both.build(kind, path).run(threads=threads)
    assert path.exists()  # the independent branch ran
    assert nodes_of(root)[f"raises {kind}"].status is NodeStatus.FAILED
    assert not root.ready
    assert f"ERROR raises {kind}: Task failed: {kind}" in "\n".join(logs) or any(
        line.startswith(f"ERROR raises {kind}: Task failed:") for line in logs)


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no text for you")


@task
def unprintable():
    yield "unprintable"
    yield Asset(None, lambda: False)
    yield None
    raise Unprintable


@pytest.mark.parametrize("threads", [1, 2])
def test_an_error_that_cannot_be_printed_still_names_its_task(logs, threads):
    root = unprintable.build().run(threads=threads)
    assert root.status is NodeStatus.FAILED
    assert "ERROR unprintable: Task failed: Unprintable (its message could not be read)" in logs


class CancelHookRaises(ProcessDefinition):
    def define_process(self, builder):
        builder.task(self.cancel)

    def cancel(self):
        raise CancelProcessError("enough")

    def on_cancelled(self, identifier):
        raise ValueError("hook broke")


class Other(ProcessDefinition):
    def define_process(self, builder):
        builder.expected_arguments(path=Path)
        builder.task(self.write)

    def write(self, path):
        path.write_text("done")


@collection
def two_processes(path: Path):
    yield "two processes"
    yield [CancelHookRaises.build(), Other.build(path=path)]


def test_an_on_cancelled_hook_that_raises_cancels_only_its_process(tmp_path, logs):
    path = tmp_path / "other"
    root = two_processes.build(path).run()
    assert path.read_text() == "done"  # the other process was not cancelled
    assert any("on_cancelled hook raised ValueError: hook broke" in line for line in logs)
    assert not root.ready


calls: list[str] = []


@external
def remote_flag(name: str):
    yield f"remote {name}"
    yield Asset(name, lambda: calls.append(name) or False)


@task
def needs_flag(name: str):
    yield f"needs {name}"
    yield Asset(None, lambda: False)
    yield remote_flag(name)


@pytest.mark.parametrize("threads", [1, 2])
def test_a_not_ready_external_is_observed_once_per_run(threads):
    calls.clear()
    root = needs_flag.build("flag").run(threads=threads)
    assert not root.ready
    assert calls == ["flag"]


@task
def link(i: int):
    yield f"link {i}"
    yield Asset(i, lambda: False)
    yield link(i - 1) if i else None


def test_the_verbose_task_tree_grows_linearly_with_a_chain(stdlib_logger):
    log, lines = stdlib_logger("tree-test")
    depth = 2000
    link.build(depth).run(log=log, dry_run=True)
    tree = lines[lines.index("DEBUG Task Graph") + 2: lines.index("DEBUG Execution") - 1]
    assert len(tree) == depth + 1  # every node once
    assert sum(len(line) for line in tree) < 80 * depth  # not quadratic


class Watcher:
    def __init__(self):
        self.events: list[tuple[str, str]] = []
        self.threads: set[str] = set()

    def run_started(self, root, nodes):
        self.events.append(("run_started", root.taskname))

    def node_started(self, node):
        self.events.append(("node_started", node.taskname))

    def node_finished(self, node):
        self.events.append(("node_finished", f"{node.taskname}={node.status.value}"))

    def run_finished(self, root, reason):
        self.events.append(("run_finished", str(reason)))


@task
def leaf(done: set, i: int):
    yield f"leaf {i}"
    yield Asset(i, lambda: i in done)
    yield None
    done.add(i)


@collection
def leaves(done: set, n: int):
    yield "leaves"
    yield [leaf(done, i) for i in range(n)]


@pytest.mark.parametrize("threads", [1, 2])
def test_observers_hear_every_node_once_in_order(threads):
    watcher = Watcher()
    leaves.build(set(), 3).run(threads=threads, observers=[watcher])
    kinds = [k for k, _ in watcher.events]
    assert kinds[0] == "run_started"
    assert kinds[-1] == "run_finished"
    finished = [v for k, v in watcher.events if k == "node_finished"]
    assert sorted(finished) == ["leaf 0=ready", "leaf 1=ready", "leaf 2=ready", "leaves=ready"]
    for i in range(3):
        assert watcher.events.index(("node_started", f"leaf {i}")) < watcher.events.index(
            ("node_finished", f"leaf {i}=ready"))


def test_an_observer_that_raises_never_changes_the_outcome(logs):
    class Broken:
        def node_finished(self, node):
            raise RuntimeError("observer bug")

    root = leaves.build(set(), 2).run(observers=[Broken()])
    assert root.ready
    assert any("Observer Broken.node_finished failed: RuntimeError: observer bug" in line
               for line in logs)


def test_around_attempt_wraps_each_action_where_it_runs():
    seen: list[tuple[str, str]] = []

    class Spans:
        from contextlib import contextmanager

        @contextmanager
        def around_attempt(self, node):
            seen.append((node.taskname, threading.current_thread().name))
            yield

    leaves.build(set(), 2).run(threads=2, observers=[Spans()])
    assert sorted(name for name, _ in seen) == ["leaf 0", "leaf 1"]
    assert all(thread.startswith("tasktronaut-thread") for _, thread in seen)


def test_a_reused_thread_pool_serves_many_runs():
    from tasktronaut.workers import ThreadExecutor

    pool = ThreadExecutor(2)
    for _ in range(30):
        done: set = set()
        root = leaves.build(done, 5).run(executor=pool)
        assert root.ready
        assert done == set(range(5))


def test_thread_workers_start_only_as_jobs_arrive():
    before = threading.active_count()
    seen = []

    @task
    def count_threads():
        yield "count threads"
        yield Asset(None, lambda: bool(seen))
        yield None
        seen.append(threading.active_count())

    count_threads.build().run(threads=500)
    assert seen
    assert seen[0] - before <= 2


@pytest.mark.parametrize("threads", [2, 3])
def test_many_more_ready_tasks_than_queued_jobs_all_run(threads):
    done: set = set()
    root = leaves.build(done, 500).run(threads=threads)
    assert root.ready
    assert done == set(range(500))


@task
def chained(done: set, i: int):
    yield f"chained {i}"
    yield Asset(i, lambda: i in done)
    yield chained(done, i - 1) if i else None
    done.add(i)


def test_a_chain_on_a_thread_pool_runs_in_order():
    done: set = set()
    order: list[int] = []

    class Order:
        def node_finished(self, node):
            order.append(int(node.taskname.split()[1]))

    root = chained.build(done, 300).run(threads=2, observers=[Order()])
    assert root.ready
    assert order == list(range(301))


def test_the_verbose_log_starts_like_iotaas(stdlib_logger):
    log, lines = stdlib_logger("dedup-test")
    link.build(2).run(log=log, dry_run=True)
    assert lines[0] == "DEBUG Deduplicating task-graph nodes"
    assert lines[2] == "DEBUG Task Graph"


@task
def inner_file(path: Path):
    yield f"inner {path.name}"
    yield Asset(path, path.exists)
    yield None
    path.touch()


@task
def nests(path: Path):
    yield "nests"
    yield Asset(None, lambda: path.exists())
    yield None
    inner_file.build(path).run()  # a run of its own, inside this action


def test_a_nested_run_logs_where_the_run_around_it_logs(tmp_path, stdlib_logger):
    log, lines = stdlib_logger("nested-test")
    root = nests.build(tmp_path / "made").run(log=log)
    assert root.ready
    assert "INFO inner made: Executing" in lines
    assert "INFO inner made: Ready" in lines


def test_with_only_errors_shown_a_failure_still_says_which_task_failed(stdlib_logger):
    import logging

    log, lines = stdlib_logger("errors-only")
    log.setLevel(logging.ERROR)
    unprintable.build().run(log=log)
    assert lines == ["ERROR unprintable: Task failed: Unprintable (its message could not be read)"]


def test_pool_jobs_queue_deeper_only_when_no_node_has_a_priority():
    from tasktronaut.engine.capacity import Capacity
    from tasktronaut.workers import ThreadExecutor

    class Custom:
        capacity, queue_depth = 3, 5

    pool, custom = ThreadExecutor(2), Custom()
    fifo, ranked = Capacity({}, fifo=True), Capacity({}, fifo=False)
    assert fifo.depth(pool) == ThreadExecutor.fifo_queue_depth > ThreadExecutor.queue_depth
    assert ranked.depth(pool) == ThreadExecutor.queue_depth
    assert fifo.depth(custom) == ranked.depth(custom) == 5  # an executor's own depth holds


def test_a_signal_that_interrupts_its_own_thread_inside_a_stop_request_does_not_hang():
    from tasktronaut.engine.stop import Stop, StopReason

    stop = Stop()
    with stop._lock:  # as if the handler had interrupted a request of this very thread
        assert stop.request(StopReason.INTERRUPTED, timeout=0.05) is False
    assert stop.request(StopReason.FAILURE) is True  # the lock is free again
    assert stop.reason is StopReason.FAILURE
