"""Lifecycle hooks: when each one is called, with what, and how often."""

import threading
import time
from contextlib import contextmanager
from typing import ClassVar

import pytest

from tasktronaut import (
    CancelProcessError,
    ExecutionMode,
    NodeStatus,
    NonRetryableProcessError,
    ProcessDefinition,
)
from tasktronaut.testing import order, steps


class Watched(ProcessDefinition):
    """Records every hook call, and every step, in the list ``events``.

    Hooks do not receive the process arguments, so the list is a class attribute, given a
    fresh value for each test by the ``events`` fixture.
    """

    events: ClassVar[list] = []

    def on_started(self, identifier):
        self.events.append(("started", type(self).__name__, identifier))

    @contextmanager
    def around_task(self, identifier, step, description, context):
        assert context.step == step
        self.events.append(("enter", step, description))
        try:
            yield
        except BaseException as e:
            self.events.append(("raised", step, type(e).__name__))
            raise
        self.events.append(("exit", step))

    def on_completed(self, identifier):
        self.events.append(("completed", type(self).__name__, identifier))

    def on_failed(self, identifier, step, error):
        self.events.append(("failed", type(self).__name__, identifier, step, error))

    def on_cancelled(self, identifier):
        self.events.append(("cancelled", type(self).__name__, identifier))

    def step(self, context):
        self.events.append(("step", context.step))
        return context.step


@pytest.fixture
def events():
    """A fresh list that every Watched process records into."""
    recorded: list = []
    Watched.events = recorded
    yield recorded
    Watched.events = []


class ThreeSteps(Watched):
    def define_process(self, builder):
        builder.task(self.step, description="one")
        with builder.concurrent() as block:
            block.task(self.step, description="two")
            block.task(self.step, description="three")
        with builder.sequential() as block:
            block.task(self.step, description="four")


def test_hooks_are_called_in_order_around_a_successful_run(events):
    root = ThreeSteps.run("id-1")
    assert root.ready
    assert events == [
        ("started", "ThreeSteps", "id-1"),
        ("enter", "one", "one"),
        ("step", "one"),
        ("exit", "one"),
        ("enter", "two", "two"),
        ("step", "two"),
        ("exit", "two"),
        ("enter", "three", "three"),
        ("step", "three"),
        ("exit", "three"),
        ("enter", "four", "four"),
        ("step", "four"),
        ("exit", "four"),
        ("completed", "ThreeSteps", "id-1"),
    ]


def test_started_and_completed_fire_once_even_with_many_threads(events):
    root = ThreeSteps.run(threads=3)
    assert root.ready
    kinds = [event[0] for event in events]
    assert kinds.count("started") == 1
    assert kinds.count("completed") == 1
    assert kinds[0] == "started"
    assert kinds[-1] == "completed"
    assert kinds.count("enter") == kinds.count("step") == kinds.count("exit") == 4


def test_around_task_wraps_each_step_closely(events):
    ThreeSteps.run(threads=1)
    for index, event in enumerate(events):
        if event[0] == "step":
            assert events[index - 1] == ("enter", event[1], event[1])
            assert events[index + 1] == ("exit", event[1])


def test_around_task_gets_the_step_description(events):
    class Described(Watched):
        def define_process(self, builder):
            with builder.transform(lambda: ({"x": 1}, "Scoped")) as t:
                t.task(self.step)

    Described.run()
    assert ("enter", "Described.step(x=1)", "Scoped") in events


def test_building_or_planning_calls_no_hook_and_runs_no_step(events):
    ThreeSteps.build("id")
    order(ThreeSteps)
    assert events == []


def test_a_dry_run_calls_no_hook(events):
    root = ThreeSteps.run(dry_run=True)
    assert not root.ready
    assert events == []


class FailsInTheMiddle(Watched):
    def define_process(self, builder):
        builder.task(self.step, description="before")
        builder.task(self.fail)
        builder.task(self.step, description="after")

    def fail(self, error):
        self.events.append(("step", "fail"))
        raise error


@pytest.mark.parametrize("error", [RuntimeError("boom"), NonRetryableProcessError("no")])
def test_on_failed_is_called_once_with_the_step_and_the_error(events, error):
    root = FailsInTheMiddle.run("id-2", error=error)
    assert not root.ready
    assert events == [
        ("started", "FailsInTheMiddle", "id-2"),
        ("enter", "before", "before"),
        ("step", "before"),
        ("exit", "before"),
        ("enter", "FailsInTheMiddle.fail", "fail"),
        ("step", "fail"),
        ("raised", "FailsInTheMiddle.fail", type(error).__name__),
        ("failed", "FailsInTheMiddle", "id-2", "FailsInTheMiddle.fail", error),
    ]
    assert events[-1][-1] is error


def test_on_failed_is_called_once_per_failed_step(events):
    class TwoFailures(Watched):
        process_execution_mode = ExecutionMode.CONCURRENT

        def define_process(self, builder):
            builder.task(self.fail, description="first")
            builder.task(self.step, description="fine")
            builder.task(self.fail, description="second")

        def fail(self, context):
            raise ValueError(context.step)

    root = TwoFailures.run(threads=2)
    assert not root.ready
    failed = sorted((e[3], str(e[4])) for e in events if e[0] == "failed")
    assert failed == [("first", "first"), ("second", "second")]
    assert ("step", "fine") in events
    assert not [e for e in events if e[0] == "completed"]


def test_the_default_hooks_log_through_loguru(logs):
    class Plain(ProcessDefinition):
        def define_process(self, builder):
            builder.task(self.work)
            builder.task(self.fail)

        def work(self):
            pass

        def fail(self):
            raise RuntimeError("boom")

    class Cancels(ProcessDefinition):
        description = "Cancelling"

        def define_process(self, builder):
            builder.task(self.stop)

        def stop(self):
            raise CancelProcessError("enough")

    Plain.run("x")
    Cancels.run()
    assert "INFO Plain [x]: Started" in logs
    assert "ERROR Plain [x]: Step Plain.fail failed: boom" in logs
    assert "INFO Plain [x]: Completed" not in logs
    assert "WARNING Cancelling: Cancelled" in logs


def test_the_default_hooks_log_completion(logs):
    class Fine(ProcessDefinition):
        def define_process(self, builder):
            builder.task(self.work)

        def work(self):
            pass

    Fine.run()
    assert logs.index("INFO Fine: Started") < logs.index("INFO Fine: Completed")


# Cancellation


class CancelsInTheMiddle(Watched):
    def define_process(self, builder):
        builder.task(self.step, description="before")
        with builder.concurrent() as block:
            block.task(self.cancel)
            block.task(self.step, description="sibling")
        builder.task(self.step, description="after")

    def cancel(self):
        self.events.append(("step", "cancel"))
        raise CancelProcessError("stop here")


def test_on_cancelled_is_called_once_and_nothing_more_starts(events, logs):
    root = CancelsInTheMiddle.run("id-3")
    assert not root.ready
    assert events == [
        ("started", "CancelsInTheMiddle", "id-3"),
        ("enter", "before", "before"),
        ("step", "before"),
        ("exit", "before"),
        ("enter", "CancelsInTheMiddle.cancel", "cancel"),
        ("step", "cancel"),
        ("raised", "CancelsInTheMiddle.cancel", "CancelProcessError"),
        ("cancelled", "CancelsInTheMiddle", "id-3"),
    ]
    status = {n.taskname: n.status for n in steps(root)}
    assert status["CancelsInTheMiddle.cancel"] is NodeStatus.CANCELLED
    assert status["sibling"] is NodeStatus.SKIPPED
    assert status["after"] is not NodeStatus.READY
    assert "WARNING CancelsInTheMiddle.cancel: Cancelled: stop here" in logs


def test_cancelling_in_a_sub_process_cancels_the_whole_process(events):
    class Inner(Watched):
        def define_process(self, builder):
            builder.task(self.step, description="inner")
            builder.task(self.cancel)

        def cancel(self):
            raise CancelProcessError("from inside")

    class OuterProcess(Watched):
        def define_process(self, builder):
            builder.task(self.step, description="outer first")
            builder.sub_process(Inner)
            builder.task(self.step, description="outer last")

    root = OuterProcess.run()
    assert not root.ready
    ran = [e[1] for e in events if e[0] == "step"]
    assert ran == ["outer first", "inner"]
    cancelled = [e[1] for e in events if e[0] == "cancelled"]
    assert sorted(cancelled) == ["Inner", "OuterProcess"]
    assert not [e for e in events if e[0] in ("failed", "completed")]


def test_a_running_step_sees_the_cancellation(events):
    meeting = threading.Barrier(2, timeout=30)

    class Watchful(Watched):
        process_execution_mode = ExecutionMode.CONCURRENT

        def define_process(self, builder):
            builder.task(self.cancel)
            builder.task(self.wait_for_cancel)

        def cancel(self):
            meeting.wait()
            raise CancelProcessError("stop")

        def wait_for_cancel(self, context):
            meeting.wait()
            deadline = time.monotonic() + 30
            while not context.cancelled and time.monotonic() < deadline:
                time.sleep(0.01)
            self.events.append(("saw cancel", context.cancelled))

    root = Watchful.run(threads=2)
    assert not root.ready
    assert ("saw cancel", True) in events
    assert [e[0] for e in events].count("cancelled") == 1


# Sub-processes


def test_a_sub_process_fires_its_own_hooks_when_its_part_starts_and_ends(events):
    class Part(Watched):
        process_execution_mode = ExecutionMode.CONCURRENT

        def define_process(self, builder):
            builder.task(self.step, description="part a")
            builder.task(self.step, description="part b")

    class Whole(Watched):
        def define_process(self, builder):
            builder.task(self.step, description="first")
            builder.sub_process(Part)
            builder.task(self.step, description="last")

    root = Whole.run("id-4")
    assert root.ready
    hooks = [e[:2] for e in events if e[0] in ("started", "completed", "step")]
    assert hooks == [
        ("started", "Whole"),
        ("step", "first"),
        ("started", "Part"),
        ("step", "part a"),
        ("step", "part b"),
        ("completed", "Part"),
        ("step", "last"),
        ("completed", "Whole"),
    ]
    assert ("started", "Part", "id-4") in events


def test_each_definition_hooks_apply_to_its_own_steps(events):
    class Quiet(ProcessDefinition):
        def define_process(self, builder):
            builder.task(self.work)

        def work(self):
            Watched.events.append(("step", "quiet work"))

    class Loud(Watched):
        def define_process(self, builder):
            builder.sub_process(Quiet)
            builder.task(self.step, description="loud work")

    assert Loud.run().ready
    entered = [e[1] for e in events if e[0] == "enter"]
    assert entered == ["loud work"]
    assert ("step", "quiet work") in events


def test_a_failure_in_a_sub_process_is_reported_by_its_definition(events):
    class Part(Watched):
        def define_process(self, builder):
            builder.task(self.fail)

        def fail(self):
            raise RuntimeError("part broke")

    class Whole(Watched):
        def define_process(self, builder):
            builder.sub_process(Part)
            builder.task(self.step, description="never")

    root = Whole.run()
    assert not root.ready
    failed = [(e[1], e[3]) for e in events if e[0] == "failed"]
    assert failed == [("Part", "Part.fail")]
    assert ("step", "never") not in events
    assert not [e for e in events if e[0] == "completed"]


def test_a_hook_that_raises_is_logged_and_the_run_goes_on(logs):
    class BadHook(ProcessDefinition):
        def define_process(self, builder):
            with builder.concurrent() as block:
                block.task(self.fail)
                block.task(self.work)

        def on_failed(self, identifier, step, error):
            raise RuntimeError("hook broke")

        def fail(self):
            raise ValueError("step broke")

        def work(self, seen):
            seen.append("work")

    seen: list[str] = []
    root = BadHook.run(seen=seen)
    assert not root.ready
    assert seen == ["work"]
    assert any("hook broke" in line for line in logs if line.startswith("ERROR"))


class RaisingHook(ProcessDefinition):
    def define_process(self, builder):
        builder.task(self.work)

    def work(self, seen):
        seen.append("work")


def test_on_started_that_raises_does_not_escape_the_run(logs):
    class BadStart(RaisingHook):
        def on_started(self, identifier):
            raise RuntimeError("start hook broke")

    seen: list[str] = []
    root = BadStart.run(seen=seen)  # returns: a hook error is the run's outcome, not a crash
    assert root.status is not NodeStatus.NEW
    assert any("start hook broke" in line for line in logs if line.startswith("ERROR"))


def test_around_task_that_raises_fails_the_step(logs):
    class BadWrapper(RaisingHook):
        @contextmanager
        def around_task(self, identifier, step, description, context):
            raise RuntimeError("wrapper broke")
            yield

    seen: list[str] = []
    root = BadWrapper.run(seen=seen)
    assert not root.ready
    assert seen == []
    assert "ERROR BadWrapper.work: Task failed: wrapper broke" in logs


def test_on_completed_that_raises_leaves_the_process_not_ready(logs):
    class BadEnd(RaisingHook):
        def on_completed(self, identifier):
            raise RuntimeError("end hook broke")

    seen: list[str] = []
    root = BadEnd.run(seen=seen)
    assert seen == ["work"]
    assert not root.ready
    assert any("end hook broke" in line for line in logs if line.startswith("ERROR"))


# Steps of definitions that keep the default hooks (steps after the first are only called)


class Plain(ProcessDefinition):
    """Default hooks; its steps append to ``seen``."""

    process_execution_mode = ExecutionMode.CONCURRENT

    def define_process(self, builder):
        for item in builder.each(self.items):
            item.task(self.work, retries=1, backoff_base=0)

    def items(self, names):
        for name in names:
            yield {"name": name}

    def work(self, name, seen):
        seen.append(name)
        if name == "cancel":
            raise CancelProcessError("enough")
        if name == "fail":
            raise NonRetryableProcessError("broken")
        return name


def test_a_cancelled_process_starts_none_of_its_plain_steps(logs):
    seen: list[str] = []
    root = Plain.run(names=["a", "cancel", "b", "c"], seen=seen)
    assert seen == ["a", "cancel"]
    status = {n.taskname: n.status for n in steps(root)}
    assert status["Plain.work(name='b')"] is NodeStatus.SKIPPED
    assert status["Plain.work(name='c')"] is NodeStatus.SKIPPED
    assert "WARNING Plain: Cancelled" in logs


def test_a_plain_step_that_fails_is_reported_once_and_the_others_run(logs):
    seen: list[str] = []
    root = Plain.run(names=["a", "fail", "b"], seen=seen)
    assert seen == ["a", "fail", "b"]
    assert not root.ready
    assert [line for line in logs if "Step" in line] == [
        "ERROR Plain: Step Plain.work(name='fail') failed: broken"]


def test_a_step_whose_process_failed_to_start_fails_without_a_retry(logs):
    class BadStart(Plain):
        def on_started(self, identifier):
            raise RuntimeError("start hook broke")

    seen: list[str] = []
    root = BadStart.run(names=["a", "b"], seen=seen)
    status = {n.taskname: n.status for n in steps(root)}
    assert status == {"BadStart.work(name='a')": NodeStatus.FAILED,
                      "BadStart.work(name='b')": NodeStatus.READY}
    assert seen == ["b"]
