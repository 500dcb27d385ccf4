"""tasktronaut.testing: plan, order and run_with, and the ``tasktronaut`` pytest fixture."""

import re
from pathlib import Path

import pytest

from tasktronaut import (
    Asset,
    Builder,
    Context,
    ExecutionMode,
    NodeStatus,
    ProcessDefinition,
    task,
)
from tasktronaut import testing as helpers


class Report(ProcessDefinition):
    """fetch; concurrent(each source: parse; chart); publish (only with the publish option)."""

    def define_process(self, builder: Builder) -> None:
        builder.expected_arguments(sources=list[str])
        builder.task(self.fetch)
        with builder.concurrent(description="Per source") as block:
            for item in block.each(self.each_source):
                item.task(self.parse)
        builder.task(self.chart)
        if builder.option("publish", False):
            builder.task(self.publish)

    def each_source(self, sources):
        for source in sources:
            yield {"source": source}, f"Source {source}"

    def fetch(self, sources, calls):
        calls.append("fetch")
        return len(sources)

    def parse(self, source, calls):
        calls.append(f"parse {source}")
        return source.upper()

    def chart(self, context: Context, calls):
        calls.append("chart")
        return sorted(v for k, v in context.results.items() if k.startswith("Report.parse"))

    def publish(self, context: Context, calls):
        calls.append("publish")
        return f"published {context.result(self.chart)}"


# plan


def test_plan_is_plain_data_to_compare_with_a_literal():
    calls: list[str] = []
    assert helpers.plan(Report, sources=["a", "b"], calls=calls) == {
        "process": "Report",
        "mode": "sequential",
        "steps": [
            {
                "step": "Report.fetch",
                "description": "fetch",
                "kwargs": {"sources": ["a", "b"], "calls": calls},
            },
            {
                "concurrent": [
                    {
                        "concurrent": [
                            {
                                "step": "Report.parse(source='a')",
                                "description": "Source a",
                                "kwargs": {"source": "a", "calls": calls},
                            },
                        ],
                        "description": "Source a",
                        "kwargs": {"source": "a"},
                    },
                    {
                        "concurrent": [
                            {
                                "step": "Report.parse(source='b')",
                                "description": "Source b",
                                "kwargs": {"source": "b", "calls": calls},
                            },
                        ],
                        "description": "Source b",
                        "kwargs": {"source": "b"},
                    },
                ],
                "description": "Per source",
            },
            {"step": "Report.chart", "description": "chart", "kwargs": {"calls": calls}},
        ],
    }
    assert calls == []


def test_plan_takes_identifier_and_options():
    data = helpers.plan(Report, "nightly", {"publish": True}, sources=[], calls=[])
    assert data["process"] == "Report [nightly]"
    assert data["steps"][-1]["step"] == "Report.publish"


def test_plan_is_a_copy():
    first = helpers.plan(Report, sources=["a"], calls=[])
    first["steps"].clear()
    assert helpers.plan(Report, sources=["a"], calls=[])["steps"]


def test_the_root_of_a_built_process_carries_its_plan():
    root = Report.build(sources=["a"], calls=[])
    assert root.hooks.plan == helpers.plan(Report, sources=["a"], calls=[])


# order


def test_order_lists_the_steps_as_one_thread_would_run_them_and_runs_nothing():
    calls: list[str] = []
    names = helpers.order(Report, options={"publish": True}, sources=["a", "b"], calls=calls)
    assert names == [
        "Report.fetch",
        "Report.parse(source='a')",
        "Report.parse(source='b')",
        "Report.chart",
        "Report.publish",
    ]
    assert calls == []


def test_order_matches_a_real_run_with_one_thread():
    class Mixed(ProcessDefinition):
        process_execution_mode = ExecutionMode.CONCURRENT

        def define_process(self, builder):
            with builder.sequential() as first:
                first.task(self.step, description="1a")
                with first.concurrent() as inner:
                    inner.task(self.step, description="1b")
                    inner.task(self.step, description="1c")
                first.task(self.step, description="1d")
            with builder.sequential() as second:
                second.task(self.step, description="2a")
                second.task(self.step, description="2b")
            builder.task(self.step, description="3")

        def step(self, context, calls):
            calls.append(context.step)

    calls: list[str] = []
    planned = helpers.order(Mixed, calls=calls)
    assert Mixed.run(threads=1, calls=calls).ready
    assert calls == planned
    assert sorted(planned) == ["1a", "1b", "1c", "1d", "2a", "2b", "3"]


def test_order_accepts_a_built_node_and_leaves_out_what_is_ready(tmp_path):
    done = tmp_path / "done"
    done.touch()

    @task
    def touch(path: Path):
        yield f"Touch {path.name}"
        yield Asset(path, path.is_file)
        yield None
        path.touch()

    class WithFiles(ProcessDefinition):
        def define_process(self, builder):
            builder.task(touch(done))
            builder.task(touch(tmp_path / "todo"))
            builder.task(self.work)

        def work(self):
            pass

    root = WithFiles.build()
    assert helpers.order(root) == ["Touch todo", "WithFiles.work"]
    assert not (tmp_path / "todo").exists()


def test_steps_lists_the_step_nodes():
    root = Report.build(sources=["a"], calls=[])
    names = sorted(n.taskname for n in helpers.steps(root))
    assert names == ["Report.chart", "Report.fetch", "Report.parse(source='a')"]


# run_with


def test_run_with_replaces_steps_by_method_name(mocker):
    calls: list[str] = []
    fetch = mocker.Mock(return_value=99)
    root = helpers.run_with(Report, {"fetch": fetch}, sources=["a"], calls=calls)
    assert root.ready
    fetch.assert_called_once_with(sources=["a"], calls=calls)
    assert calls == ["parse a", "chart"]
    assert root.ref["Report.fetch"] == 99


def test_run_with_passes_the_context_to_a_replacement_when_the_step_declares_it(mocker):
    chart = mocker.Mock(return_value=["X"])
    publish = mocker.Mock(return_value="sent")
    root = helpers.run_with(
        Report, {"chart": chart, "publish": publish}, "job", {"publish": True},
        sources=["a", "b"], calls=[],
    )
    assert root.ready
    context = chart.call_args.kwargs["context"]
    assert isinstance(context, Context)
    assert context.step == "Report.chart"
    assert context.identifier == "job"
    assert context.results == {
        "Report.fetch": 2,
        "Report.parse(source='a')": "A",
        "Report.parse(source='b')": "B",
        "Report.chart": ["X"],
        "Report.publish": "sent",
    }
    assert root.ref["Report.publish"] == "sent"


def test_a_replaced_step_is_still_found_by_the_method_it_was_built_with(mocker):
    chart = mocker.Mock(return_value=["X"])
    root = helpers.run_with(Report, {"chart": chart}, "job", {"publish": True},
                            sources=["a"], calls=[])
    assert root.ref["Report.publish"] == "published ['X']"


def test_run_with_a_step_used_in_every_iteration(mocker):
    calls: list[str] = []
    parse = mocker.Mock(side_effect=lambda source, calls: source * 2)
    root = helpers.run_with(Report, {"parse": parse}, sources=["a", "b"], calls=calls)
    assert parse.call_args_list == [
        mocker.call(source="a", calls=calls),
        mocker.call(source="b", calls=calls),
    ]
    assert root.ref["Report.chart"] == ["aa", "bb"]


def test_run_with_a_failing_replacement(mocker):
    calls: list[str] = []
    error = RuntimeError("network down")
    root = helpers.run_with(
        Report, {"fetch": mocker.Mock(side_effect=error)}, sources=["a"], calls=calls
    )
    assert not root.ready
    assert calls == []
    fetch = next(n for n in helpers.steps(root) if n.taskname == "Report.fetch")
    assert fetch.status is NodeStatus.FAILED
    assert fetch.error is error


def test_run_with_threads(mocker):
    parse = mocker.Mock(return_value="P")
    root = helpers.run_with(Report, {"parse": parse}, threads=3, sources=["a", "b", "c"], calls=[])
    assert root.ready
    assert parse.call_count == 3


def test_run_with_an_unknown_method_name_raises(mocker):
    with pytest.raises(KeyError, match=re.escape("no step calls nope")):
        helpers.run_with(Report, {"nope": mocker.Mock()}, sources=[], calls=[])


def test_replace_steps_returns_the_names_it_replaced(mocker):
    root = Report.build(sources=["a", "b"], calls=[])
    replaced = helpers.replace_steps(root, {"parse": mocker.Mock()})
    assert sorted(replaced) == ["Report.parse(source='a')", "Report.parse(source='b')"]


# The pytest fixture (a plugin registered through an entry point)


def test_the_fixture_offers_the_helpers(tasktronaut, mocker):
    calls: list[str] = []
    assert tasktronaut.plan(Report, sources=[], calls=calls)["process"] == "Report"
    assert tasktronaut.order(Report, sources=["a"], calls=calls)[0] == "Report.fetch"
    chart = mocker.Mock(return_value=[])
    root = tasktronaut.run_with(Report, {"chart": chart}, sources=["a"], calls=calls)
    assert root.ready
    chart.assert_called_once()
    assert calls == ["fetch", "parse a"]
    assert len(tasktronaut.steps(root)) == 3


def test_the_plugin_is_registered_through_an_entry_point(pytestconfig):
    assert pytestconfig.pluginmanager.has_plugin("tasktronaut")
