"""Run-time capabilities of the engine: priorities, resource limits, async actions, arun."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest
from support import nodes_of

from tasktronaut import (
    ArgumentError,
    Asset,
    ExecutionMode,
    Node,
    NodeStatus,
    ProcessDefinition,
    TaskTimeoutError,
    collection,
    task,
)
from tasktronaut.model import TaskOptions


@task(priority=0)
def plain(order: list, name: str):
    yield name
    yield Asset(name, lambda: name in order)
    yield None
    order.append(name)


@task(priority=5)
def urgent(order: list, name: str):
    yield name
    yield Asset(name, lambda: name in order)
    yield None
    order.append(name)


@collection
def mixed(order: list):
    yield "mixed"
    yield [plain(order, "a"), urgent(order, "b"), plain(order, "c"), urgent(order, "d")]


def test_higher_priorities_start_first_on_one_thread_ties_in_definition_order():
    order: list[str] = []
    assert mixed.build(order).run().ready
    assert order == ["b", "d", "a", "c"]


class Gauge:
    """Counts attempts in flight, from inside them, across threads."""

    def __init__(self) -> None:
        self.now = self.peak = 0
        self.lock = threading.Lock()

    def __enter__(self):
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def __exit__(self, *exc):
        with self.lock:
            self.now -= 1


GAUGE = Gauge()


class Queries(ProcessDefinition):
    process_execution_mode = ExecutionMode.CONCURRENT

    def define_process(self, builder):
        for i in range(8):
            builder.task(self.query, description=f"query {i}", resources={"db": 1})
        builder.task(self.other, description="free")

    def query(self):
        with GAUGE:
            time.sleep(0.05)

    def other(self):
        time.sleep(0.01)


@pytest.mark.parametrize("threads", [1, 4])
def test_never_more_in_flight_than_a_resource_limit_on_threads(threads):
    GAUGE.peak = 0
    root = Queries.run(threads=threads) if threads == 1 else Queries.build().run(
        threads=threads, resources={"db": 2})
    assert root.ready
    assert GAUGE.peak <= (1 if threads == 1 else 2)
    if threads > 1:
        assert GAUGE.peak == 2  # the limit, not less: two at a time did run


class FileQueries(ProcessDefinition):
    """Steps in worker processes that leave a file while they run."""

    process_execution_mode = ExecutionMode.CONCURRENT

    def define_process(self, builder):
        builder.expected_arguments(folder=str)
        for i in range(6):
            builder.task(self.query, description=f"query {i}", resources={"db": 1},
                         executor="process")
        for i in range(3):
            builder.task(self.query, description=f"thread query {i}", resources={"db": 1})

    def query(self, folder, context):
        mine = Path(folder, context.step.replace(" ", "_"))
        mine.touch()
        seen = len(list(Path(folder).iterdir()))
        time.sleep(0.1)
        mine.unlink()
        return seen


def test_never_more_in_flight_than_a_resource_limit_across_threads_and_processes(tmp_path):
    root = FileQueries.build(folder=str(tmp_path)).run(threads=3, processes=3,
                                                       resources={"db": 2})
    assert root.ready
    assert max(root.ref.values()) <= 2


def test_a_node_needing_more_than_there_is_is_refused_before_anything_runs():
    order: list[str] = []

    @task(resources={"gpu": 3})
    def big():
        yield "big"
        yield Asset(None, lambda: bool(order))
        yield None
        order.append("ran")

    with pytest.raises(ArgumentError, match="'big' needs 3 of resource 'gpu' but the run has 2"):
        big.build().run(resources={"gpu": 2})
    assert order == []


@pytest.mark.parametrize("bad", [{"db": 0}, {"": 1}, {"db": 1.5}, ["db"]])
def test_bad_resource_needs_are_refused_naming_the_resource(bad):
    with pytest.raises(ArgumentError, match="resources"):
        TaskOptions(resources=bad)


def async_node(name: str, coro_fn, **options) -> Node:
    """A node whose action is a coroutine function, run on the run's event loop."""
    return Node(name, asset=Asset(name, lambda: False),
                options=TaskOptions(executor="async", **options),
                action=lambda node: coro_fn())


def joined(*nodes: Node) -> Node:
    root = Node("all", kind=__import__("tasktronaut").NodeKind.JOIN)
    root._deps = nodes
    return root


def test_two_hundred_sleeping_coroutines_share_one_loop():
    async def nap():
        await asyncio.sleep(0.05)
        return threading.current_thread().name

    nodes = [async_node(f"nap {i}", nap) for i in range(200)]
    started = time.monotonic()
    joined(*nodes).run(async_limit=500)
    elapsed = time.monotonic() - started
    assert {n.result for n in nodes} == {"tasktronaut-async"}
    assert all(n.status is NodeStatus.NOT_READY for n in nodes)  # ran; asset says not ready
    assert elapsed < 2.0  # 200 x 50 ms one after another would take 10 s


def test_async_limit_bounds_coroutines_in_flight():
    gauge = Gauge()

    async def nap():
        with gauge:
            await asyncio.sleep(0.02)

    joined(*[async_node(f"nap {i}", nap) for i in range(20)]).run(async_limit=3)
    assert gauge.peak == 3


def test_an_async_action_past_its_timeout_is_cancelled():
    cancelled = threading.Event()

    async def hang():
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    node = async_node("hang", hang, timeout=0.2)
    started = time.monotonic()
    node.run()
    assert node.status is NodeStatus.FAILED
    assert isinstance(node.error, TaskTimeoutError)
    assert cancelled.wait(5)
    assert time.monotonic() - started < 10


def test_an_async_action_is_retried():
    attempts: list[int] = []

    async def flaky():
        attempts.append(1)
        if len(attempts) < 3:
            raise ValueError("not yet")
        return "ok"

    node = async_node("flaky", flaky, retries=2)
    node.run()
    assert node.result == "ok"
    assert len(attempts) == 3


def test_an_awaitable_where_none_was_expected_is_an_error_naming_the_step(logs):
    class Forgot(ProcessDefinition):
        def define_process(self, builder):
            builder.task(self.fetch, executor="thread")
            builder.task(self.use)

        def fetch(self):
            return asyncio.sleep(0)  # an awaitable from a plain function

        def use(self):
            return "never"

    root = Forgot.run()
    fetch = nodes_of(root)["Forgot.fetch"]
    assert fetch.status is NodeStatus.FAILED
    assert "'Forgot.fetch' returned an awaitable" in str(fetch.error)
    assert nodes_of(root)["Forgot.use"].status is not NodeStatus.READY
    assert not root.ready


def test_arun_runs_on_the_callers_event_loop():
    async def main():
        loop = asyncio.get_running_loop()
        seen = []

        async def where():
            seen.append(asyncio.get_running_loop() is loop)

        node = async_node("where", where)
        await node.arun()
        return seen, node

    seen, node = asyncio.run(main())
    assert seen == [True]
    assert node.status is NodeStatus.NOT_READY


def test_cancelling_an_arun_cancels_the_run_and_its_coroutines():
    stopped = threading.Event()

    async def forever():
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            stopped.set()
            raise

    async def main():
        node = async_node("forever", forever)
        task_ = asyncio.ensure_future(node.arun())
        await asyncio.sleep(0.3)
        task_.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task_
        return node

    node = asyncio.run(asyncio.wait_for(main(), 20))
    assert stopped.is_set()
    assert node.status is not NodeStatus.READY


CTRL_C_SCRIPT = """
import asyncio, sys
from pathlib import Path
from tasktronaut import Asset, Node, NodeKind
from tasktronaut.model import TaskOptions

folder = Path(sys.argv[1])

async def sleeper(i):
    (folder / f"started-{i}").touch()
    try:
        await asyncio.sleep(60)
    except asyncio.CancelledError:
        (folder / f"cancelled-{i}").touch()
        raise

nodes = [Node(f"sleep {i}", asset=Asset(i, lambda: False),
              options=TaskOptions(executor="async"),
              action=lambda node, i=i: sleeper(i)) for i in range(3)]
root = Node("all", kind=NodeKind.JOIN)
root._deps = tuple(nodes)
root.run()
print("statuses", sorted(n.status.value for n in nodes), flush=True)
print("errors", sorted({str(n.error) for n in nodes}), flush=True)
"""


def test_ctrl_c_cancels_running_coroutines(tmp_path):
    import signal
    import subprocess
    import sys

    script = tmp_path / "script.py"
    script.write_text(CTRL_C_SCRIPT)
    folder = tmp_path / "marks"
    folder.mkdir()
    proc = subprocess.Popen([sys.executable, str(script), str(folder)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while len(list(folder.glob("started-*"))) < 3:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the coroutines never started"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert len(list(folder.glob("cancelled-*"))) == 3
    assert "statuses ['cancelled', 'cancelled', 'cancelled']" in out
    assert "errors ['stopped: the run was interrupted']" in out
