"""Process steps: async def steps, results as arguments (inputs=), cleanup steps (always=)."""

from __future__ import annotations

import asyncio
import time
from typing import ClassVar

import pytest
from support import nodes_of

from tasktronaut import (
    ArgumentError,
    CancelProcessError,
    Context,
    ExecutionMode,
    NodeStatus,
    ProcessDefinition,
    TaskTimeoutError,
)


class Fetches(ProcessDefinition):
    """Many async steps waiting at the same time, then one that adds their results."""

    process_execution_mode = ExecutionMode.SEQUENTIAL

    def define_process(self, builder):
        with builder.concurrent() as block:
            for i in range(200):
                block.task(self.fetch, description=f"fetch {i}")
        builder.task(self.total)

    async def fetch(self, context: Context):
        await asyncio.sleep(0.05)
        return int(context.step.split()[1])

    def total(self, context: Context):
        return sum(context.result(f"fetch {i}") for i in range(200))


def test_two_hundred_async_steps_run_on_one_loop_in_well_under_two_seconds():
    started = time.monotonic()
    root = Fetches.run(async_limit=500)
    assert root.ready
    assert time.monotonic() - started < 2
    assert root.ref["Fetches.total"] == sum(range(200))


class SlowAsync(ProcessDefinition):
    events: ClassVar[list[str]] = []

    def define_process(self, builder):
        builder.task(self.hang, timeout=0.2)

    async def hang(self):
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            SlowAsync.events.append("cancelled")
            raise


def test_an_async_step_past_its_timeout_is_cancelled():
    SlowAsync.events = []
    root = SlowAsync.run()
    step = nodes_of(root)["SlowAsync.hang"]
    assert step.status is NodeStatus.FAILED
    assert isinstance(step.error, TaskTimeoutError)
    assert SlowAsync.events == ["cancelled"]


def test_an_async_step_cannot_go_to_worker_processes():
    class Elsewhere(ProcessDefinition):
        def define_process(self, builder):
            builder.task(self.work, executor="process")

        async def work(self): ...

    with pytest.raises(ArgumentError, match="runs on the run's event loop"):
        Elsewhere.build()


class Report(ProcessDefinition):
    def define_process(self, builder):
        builder.task(self.load)
        builder.task(self.clean, inputs={"rows": self.load})
        builder.task(self.write, inputs={"rows": "Report.clean", "raw": self.load})

    def load(self):
        return [3, 1, 2]

    def clean(self, rows):
        return sorted(rows)

    def write(self, rows, raw):
        return f"{rows} from {raw}"


@pytest.mark.parametrize("threads", [1, 3])
def test_an_earlier_steps_result_is_passed_as_an_argument(threads):
    root = Report.run(threads=threads)
    assert root.ready
    assert root.ref["Report.write"] == "[1, 2, 3] from [3, 1, 2]"


class ReportOnWorkers(Report):
    def define_process(self, builder):
        builder.task(self.load)
        builder.task(self.clean, inputs={"rows": self.load}, executor="process")


def test_inputs_reach_steps_in_worker_processes():
    root = ReportOnWorkers.run(processes=1)
    assert root.ready
    assert root.ref["ReportOnWorkers.clean"] == [1, 2, 3]


def test_a_missing_input_source_names_both_steps():
    class Missing(ProcessDefinition):
        def define_process(self, builder):
            builder.task(self.use, inputs={"rows": self.load})

        def load(self): ...

        def use(self, rows): ...

    with pytest.raises(ArgumentError, match=r"step 'Missing.use': input 'rows' comes from "
                                            r"Missing.load, which is not an earlier step"):
        Missing.build()


def test_an_ambiguous_input_source_names_every_step():
    class Twice(ProcessDefinition):
        def define_process(self, builder):
            builder.task(self.load, description="first")
            builder.task(self.load, description="second")
            builder.task(self.use, inputs={"rows": self.load})

        def load(self): ...

        def use(self, rows): ...

    with pytest.raises(ArgumentError, match=r"ambiguous: Twice\.load is used by steps "
                                            r"first, second"):
        Twice.build()


def test_an_input_for_a_parameter_the_step_lacks_is_refused():
    class NoParam(ProcessDefinition):
        def define_process(self, builder):
            builder.task(self.load)
            builder.task(self.use, inputs={"rows": self.load})

        def load(self): ...

        def use(self): ...

    with pytest.raises(ArgumentError, match=r"step 'NoParam\.use' has no parameter 'rows'"):
        NoParam.build()


class WithCleanup(ProcessDefinition):
    calls: ClassVar[list[str]] = []

    def define_process(self, builder):
        builder.expected_arguments(mode=str)
        builder.task(self.lock)
        builder.task(self.work)
        builder.task(self.release, always=True)
        builder.task(self.publish)

    def lock(self):
        WithCleanup.calls.append("lock")

    def work(self, mode):
        WithCleanup.calls.append("work")
        if mode == "fail":
            raise ValueError("broken")
        if mode == "cancel":
            raise CancelProcessError("stop")

    def release(self):
        WithCleanup.calls.append("release")

    def publish(self):
        WithCleanup.calls.append("publish")


def test_a_cleanup_step_runs_after_success_and_what_follows_runs_too():
    WithCleanup.calls = []
    root = WithCleanup.run(mode="ok")
    assert root.ready
    assert WithCleanup.calls == ["lock", "work", "release", "publish"]


@pytest.mark.parametrize("mode", ["fail", "cancel"])
def test_a_cleanup_step_runs_after_a_failure_or_a_cancel_and_never_makes_it_succeed(mode):
    WithCleanup.calls = []
    root = WithCleanup.run(mode=mode)
    assert WithCleanup.calls == ["lock", "work", "release"]  # publish still needs work
    assert nodes_of(root)["WithCleanup.release"].status is NodeStatus.READY
    assert not root.ready


def test_a_cleanup_step_runs_when_fail_fast_stops_the_run():
    WithCleanup.calls = []
    root = WithCleanup.run(mode="fail", fail_fast=True)
    assert WithCleanup.calls == ["lock", "work", "release"]
    assert not root.ready


def test_a_definition_can_be_awaited_on_the_callers_loop():
    async def main():
        return await Fetches.arun(async_limit=500)

    root = asyncio.run(main())
    assert root.ready
    assert root.ref["Fetches.total"] == sum(range(200))
