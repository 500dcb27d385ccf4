"""each(dynamic=True): fan out at run time over what earlier steps produced."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tasktronaut import (
    ArgumentError,
    Context,
    ExecutionMode,
    NodeStatus,
    ProcessDefinition,
)
from tasktronaut.model import traverse
from tasktronaut.testing import plan


class Bucket(ProcessDefinition):
    """List a bucket, then load and check each file the listing found."""

    def define_process(self, builder):
        builder.expected_arguments(count=int)
        builder.task(self.listing)
        for item in builder.each(self.files, dynamic=True):
            item.task(self.load)
            item.task(self.check)
        builder.task(self.total)

    def listing(self, count):
        return [f"f{i}.csv" for i in range(count)]

    def files(self, context: Context):
        for name in context.result(self.listing):
            yield {"file": name}

    def load(self, file):
        return len(file)

    def check(self, file, context: Context):
        return context.result(self.load) * 2

    def total(self, context: Context):
        return sum(v for k, v in context.results.items() if k.startswith("Bucket.check"))


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("count", [0, 1, 1000])
def test_a_process_fans_out_over_an_earlier_steps_result(count, threads):
    root = Bucket.run(count=count, threads=threads)
    assert root.ready
    steps = [n for n in traverse(root) if n.kind.value == "step"]
    assert len(steps) == 2 + 2 * count
    assert root.ref["Bucket.total"] == sum(2 * len(f"f{i}.csv") for i in range(count))


def test_what_follows_the_block_waits_for_every_item():
    seen: list[str] = []

    class Ordered(ProcessDefinition):
        process_execution_mode = ExecutionMode.SEQUENTIAL

        def define_process(self, builder):
            for item in builder.each(self.items, dynamic=True):
                item.task(self.work)
            builder.task(self.after)

        def items(self):
            return [{"n": 1}, {"n": 2}, {"n": 3}]

        def work(self, n):
            time.sleep(0.01 * (4 - n))
            seen.append(f"work {n}")

        def after(self):
            seen.append("after")

    assert Ordered.run(threads=3).ready
    assert seen[-1] == "after"
    assert sorted(seen[:-1]) == ["work 1", "work 2", "work 3"]


class Nested(ProcessDefinition):
    """Blocks, a transform and a static each inside the dynamic one."""

    def define_process(self, builder):
        builder.task(self.regions)
        for region in builder.each(self.region_items, dynamic=True):
            with region.concurrent() as both:
                both.task(self.north)
                both.task(self.south)
            with region.transform(self.shout) as loud:
                loud.task(self.announce)
            for city in region.each(self.cities):
                city.task(self.visit)

    def regions(self):
        return ["alps", "coast"]

    def region_items(self, context: Context):
        return [{"region": r} for r in context.result(self.regions)]

    def north(self, region):
        return f"{region} north"

    def south(self, region):
        return f"{region} south"

    def shout(self, region):
        return {"loud": region.upper()}

    def announce(self, loud):
        return loud

    def cities(self, region):
        return [{"city": f"{region}-{i}"} for i in range(2)]

    def visit(self, city):
        return city


def test_blocks_transforms_and_a_static_each_inside_a_dynamic_each():
    root = Nested.run(threads=2)
    assert root.ready
    results = sorted(v for v in root.ref.values() if isinstance(v, str))
    assert results == ["ALPS", "COAST", "alps north", "alps south", "alps-0", "alps-1",
                       "coast north", "coast south", "coast-0", "coast-1"]


def test_the_plan_shows_the_template_expanded_at_run_time():
    entry = plan(Bucket, count=3)["steps"][1]
    assert entry["dynamic"] is True
    assert entry["expanded"] == "at run time"
    assert [next(iter(step.values())) for step in entry["template"]] == [
        "Bucket.load", "Bucket.check"]


def test_more_items_than_the_limit_is_a_clear_failure():
    class Many(ProcessDefinition):
        def define_process(self, builder):
            for item in builder.each(self.items, dynamic=True, limit=5):
                item.task(self.work)

        def items(self):
            return [{"n": n} for n in range(6)]

        def work(self, n): ...

    root = Many.run()
    failed = [n for n in traverse(root) if n.status is NodeStatus.FAILED]
    assert len(failed) == 1
    assert "produced more than 5 items; raise limit=" in str(failed[0].error)
    assert not root.ready


def test_builder_kwargs_inside_a_dynamic_each_is_refused_clearly():
    class Peeks(ProcessDefinition):
        def define_process(self, builder):
            for item in builder.each(self.items, dynamic=True):
                item.task(self.work, description=str(item.kwargs))

        def items(self):
            return []

        def work(self): ...

    with pytest.raises(ArgumentError, match="not known inside each"):
        Peeks.build()


def test_a_dry_run_does_not_fan_out(logs):
    root = Bucket.run(count=3, dry_run=True)
    assert not root.ready
    assert not any("Bucket.load(" in line for line in logs)


FLOW = '''
import os, sys, time
from pathlib import Path
from tasktronaut import Context, ProcessDefinition

FOLDER = Path(os.environ["FOLDER"])


class Slow(ProcessDefinition):
    def define_process(self, builder):
        builder.task(self.listing)
        for item in builder.each(self.items, dynamic=True):
            item.task(self.work)

    def listing(self):
        with open(FOLDER / "log", "a") as f:
            f.write("listing\\n")
        return [f"item{i}" for i in range(12)]

    def items(self, context: Context):
        return [{"name": n} for n in context.result(self.listing)]

    def work(self, name):
        with open(FOLDER / "log", "a") as f:
            f.write(f"start {name}\\n")
        time.sleep(0.15)
        with open(FOLDER / "log", "a") as f:
            f.write(f"done {name}\\n")
        return name


if __name__ == "__main__":
    root = Slow.build("job").run(state=str(FOLDER / "state.db"))
    print("READY" if root.ready else "NOT READY", flush=True)
'''


def test_a_dynamic_each_resumes_after_kill_9_without_running_an_item_twice(tmp_path):
    script = tmp_path / "flow.py"
    script.write_text(textwrap.dedent(FLOW))
    env = {**os.environ, "FOLDER": str(tmp_path),
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parent.parent),
                                         os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    log = tmp_path / "log"
    deadline = time.monotonic() + 60
    while not (log.exists() and log.read_text().count("done ") >= 4):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    finished = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                              text=True, timeout=120)
    assert finished.stdout.strip() == "READY", finished.stderr
    lines = log.read_text().splitlines()
    done = [line for line in lines if line.startswith("done ")]
    assert sorted(set(done)) == sorted(f"done item{i}" for i in range(12))
    # What was recorded before the kill never runs again; only the one step the kill
    # caught between finishing its work and recording it can finish twice (one thread).
    assert len(done) - len(set(done)) <= 1
    assert lines.count("listing") == 1  # the listing was recorded and not redone
