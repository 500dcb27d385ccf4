"""Processes and asset tasks in one graph: each style can require the other."""

from pathlib import Path

from tasktronaut import (
    Asset,
    NodeKind,
    NodeStatus,
    ProcessDefinition,
    collection,
    external,
    ref,
    task,
)
from tasktronaut.testing import order, plan, steps


@external
def delivered(path: Path):
    """A file someone else delivers."""
    yield f"Delivered {path.name}"
    yield Asset(path, path.is_file)


@task
def copied(source: Path, target: Path, calls: list):
    """A copy of a file."""
    yield f"Copy of {source.name}"
    yield Asset(target, target.is_file)
    yield None
    calls.append(f"copy {source.name}")
    target.write_text(source.read_text())


class ReadDelivery(ProcessDefinition):
    """Waits for a delivered file, then reads it."""

    def define_process(self, builder):
        builder.task(self.prepare)
        builder.task(delivered(builder.kwargs["path"]))
        builder.task(self.read)

    def prepare(self, calls):
        calls.append("prepare")

    def read(self, path, calls):
        calls.append("read")
        return path.read_text()


# A process step that is an asset task


class GatedAtTheStart(ProcessDefinition):
    """The external file comes first: nothing runs before it is there."""

    def define_process(self, builder):
        builder.task(delivered(builder.kwargs["path"]))
        builder.task(self.read)
        builder.task(self.after)

    def read(self, path, calls):
        calls.append("read")
        return path.read_text()

    def after(self, calls):
        calls.append("after")


def test_an_external_file_gates_the_steps_after_it(tmp_path):
    path = tmp_path / "input.txt"
    calls: list[str] = []
    root = GatedAtTheStart.run(path=path, calls=calls)
    assert not root.ready
    assert calls == []
    path.write_text("payload")
    root = GatedAtTheStart.run(path=path, calls=calls)
    assert root.ready
    assert calls == ["read", "after"]
    assert root.ref["GatedAtTheStart.read"] == "payload"


def test_an_external_file_that_exists_lets_the_next_step_run(tmp_path):
    path = tmp_path / "input.txt"
    path.write_text("payload")
    calls: list[str] = []
    root = ReadDelivery.run(path=path, calls=calls)
    assert root.ready
    assert calls == ["prepare", "read"]
    assert root.ref["ReadDelivery.read"] == "payload"


def test_a_missing_external_file_blocks_the_next_step(tmp_path, logs):
    calls: list[str] = []
    root = ReadDelivery.run(path=tmp_path / "missing.txt", calls=calls)
    assert not root.ready
    assert calls == ["prepare"]
    assert "WARNING Delivered missing.txt: Not ready [external asset]" in logs
    assert "WARNING ReadDelivery.read: ✖ Delivered missing.txt" in logs


def test_an_external_file_written_by_an_earlier_step_is_seen_when_reached(tmp_path):
    class WriteThenRead(ProcessDefinition):
        def define_process(self, builder):
            builder.task(self.write)
            builder.task(delivered(builder.kwargs["path"]))
            builder.task(self.read)

        def write(self, path):
            path.write_text("written in this run")

        def read(self, path):
            return path.read_text()

    path = tmp_path / "made.txt"
    root = WriteThenRead.run(path=path)
    assert path.is_file()
    assert root.ready
    assert root.ref["WriteThenRead.read"] == "written in this run"


def test_an_asset_task_runs_between_the_steps_around_it(tmp_path):
    class Copying(ProcessDefinition):
        def define_process(self, builder):
            builder.task(self.write)
            builder.task(copied(tmp_path / "a", tmp_path / "b", builder.kwargs["calls"]))
            builder.task(self.check)

        def write(self, calls):
            calls.append("write")
            (tmp_path / "a").write_text("A")

        def check(self, calls):
            calls.append("check")
            return (tmp_path / "b").read_text()

    calls: list[str] = []
    assert order(Copying, calls=calls) == ["Copying.write", "Copy of a", "Copying.check"]
    root = Copying.run(calls=calls)
    assert root.ready
    assert calls == ["write", "copy a", "check"]
    assert root.ref["Copying.check"] == "A"
    assert plan(Copying, calls=[])["steps"][1] == {"task": "Copy of a"}


def test_an_asset_task_in_a_concurrent_block_runs_beside_the_steps(tmp_path):
    source = tmp_path / "source"
    source.write_text("S")

    class Side(ProcessDefinition):
        def define_process(self, builder):
            with builder.concurrent() as block:
                block.task(copied(source, tmp_path / "copy", builder.kwargs["calls"]))
                block.task(self.work)
            builder.task(self.after)

        def work(self, calls):
            calls.append("work")

        def after(self, calls):
            calls.append("after")
            return (tmp_path / "copy").read_text()

    calls: list[str] = []
    root = Side.run(threads=2, calls=calls)
    assert root.ready
    assert sorted(calls[:2]) == ["copy source", "work"]
    assert calls[2] == "after"


def test_steps_before_an_asset_task_that_is_already_ready_still_run(tmp_path):
    source, target = tmp_path / "a", tmp_path / "b"
    source.write_text("A")
    target.write_text("A")  # the copy exists already: the asset task has nothing to do

    class Again(ProcessDefinition):
        def define_process(self, builder):
            builder.task(self.before)
            builder.task(copied(source, target, builder.kwargs["calls"]))
            builder.task(self.after)

        def before(self, calls):
            calls.append("before")

        def after(self, calls):
            calls.append("after")

    calls: list[str] = []
    root = Again.run(calls=calls)
    assert root.ready
    assert calls == ["before", "after"]


def test_a_collection_can_be_a_step(tmp_path):
    for name in ("s1", "s2"):
        (tmp_path / name).write_text("S")

    @collection
    def copies(calls):
        yield "Both copies"
        yield [
            copied(tmp_path / "s1", tmp_path / "c1", calls),
            copied(tmp_path / "s2", tmp_path / "c2", calls),
        ]

    class Gathered(ProcessDefinition):
        def define_process(self, builder):
            builder.task(copies(builder.kwargs["calls"]))
            builder.task(self.done)

        def done(self, calls):
            calls.append("done")

    calls: list[str] = []
    root = Gathered.run(calls=calls)
    assert root.ready
    assert calls == ["copy s1", "copy s2", "done"]
    assert (tmp_path / "c1").read_text() == (tmp_path / "c2").read_text() == "S"


# An asset task that requires a process


class Compute(ProcessDefinition):
    def define_process(self, builder):
        builder.task(self.double)
        builder.task(self.add_one)

    def double(self, n, calls):
        if n < 0:
            raise ValueError("n must not be negative")
        calls.append(f"double {n}")
        return n * 2

    def add_one(self, context, calls):
        calls.append("add one")
        return context.result(self.double) + 1


@task
def result_file(path: Path, n: int, calls: list):
    yield f"Result file {path.name}"
    yield Asset(path, path.is_file)
    process = Compute.build(n=n, calls=calls)
    yield process
    calls.append("write file")
    path.write_text(str(ref(process)["Compute.add_one"]))


def test_an_asset_task_can_require_a_built_process(tmp_path):
    calls: list[str] = []
    path = tmp_path / "result"
    node = result_file(path, 20, calls)
    assert node.ready
    assert path.read_text() == "41"
    assert calls == ["double 20", "add one", "write file"]


def test_a_ready_asset_task_does_not_run_the_process_it_requires(tmp_path):
    path = tmp_path / "result"
    path.write_text("old")
    calls: list[str] = []
    assert result_file(path, 20, calls).ready
    assert calls == []
    assert path.read_text() == "old"


def test_a_failed_process_blocks_the_asset_task_that_requires_it(tmp_path, logs):
    calls: list[str] = []
    path = tmp_path / "result"
    node = result_file(path, -1, calls)
    assert not node.ready
    assert not path.exists()
    assert calls == []
    assert "ERROR Compute.double: Task failed: n must not be negative" in logs
    assert "WARNING Result file result: ✖ Compute" in logs


def test_a_built_process_required_by_an_asset_task_shows_in_the_plan_and_order(tmp_path):
    node = result_file.build(tmp_path / "result", 1, [])
    assert order(node) == ["Compute.double", "Compute.add_one", "Result file result"]
    process = node.req
    assert process.kind is NodeKind.PROCESS
    assert process.taskname == "Compute"


# One graph: the same nodes, logs and DOT


def test_both_styles_share_one_graph_one_log_and_one_dot(tmp_path, logs):
    root = ReadDelivery.build(path=tmp_path / "late.txt", calls=[])
    dot = root.graph
    for label in ("ReadDelivery", "ReadDelivery.prepare", "Delivered late.txt",
                  "ReadDelivery.read"):
        assert f'label="{label}"' in dot
    root = root.run()
    assert not root.ready
    assert "INFO ReadDelivery.prepare: Executing" in logs
    assert "WARNING Delivered late.txt: Not ready [external asset]" in logs
    assert "WARNING ReadDelivery: Not ready" in logs

    calls: list[str] = []
    node = result_file(tmp_path / "out", 1, calls)
    assert node.ready
    assert "INFO Compute.double: Executing" in logs
    assert "INFO Result file out: Executing" in logs
    assert logs.index("INFO Compute: Ready") < logs.index("INFO Result file out: Executing")
    kinds = {n.taskname: n.kind for n in steps(Compute.build(n=1, calls=[]))}
    assert set(kinds.values()) == {NodeKind.STEP}


def test_an_asset_task_node_in_a_process_reports_its_own_status(tmp_path):
    root = ReadDelivery.run(path=tmp_path / "missing", calls=[])
    read = next(n for n in steps(root) if n.taskname == "ReadDelivery.read")
    assert read.status is NodeStatus.NOT_READY
    (gate,) = read.req
    assert gate.kind is NodeKind.EXTERNAL
    assert gate.taskname == "Delivered missing"
    assert gate.status is NodeStatus.NOT_READY
