"""OpenTelemetry: spans per run and attempt, nested where the action runs; metrics."""

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)

from tasktronaut import Asset, ExecutionMode, ProcessDefinition, task
from tasktronaut.model.node import NodeStatus, walk
from tasktronaut.otel import Telemetry


@pytest.fixture
def telemetry():
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    observer = Telemetry(tracer_provider, MeterProvider(metric_readers=[reader]))
    return observer, exporter, reader


class Brew(ProcessDefinition):
    process_execution_mode = ExecutionMode.SEQUENTIAL

    def define_process(self, builder):
        builder.task(self.boil)

    def boil(self) -> None: ...


def _metrics(reader):
    out = {}
    for resource in reader.get_metrics_data().resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                out[metric.name] = [(dict(p.attributes), getattr(p, "value", None) or p.count)
                                    for p in metric.data.data_points]
    return out


def test_an_attempt_span_is_current_where_the_action_runs_and_records_errors(telemetry):
    observer, exporter, reader = telemetry
    root = Brew.build("night")
    nodes = walk(root)
    step = next(n for n in nodes if n.taskname == "Brew.boil")
    observer.run_started(root, nodes)
    observer.node_started(step)
    with observer.around_attempt(step), observer.tracer.start_as_current_span("library call"):
        pass  # a library the step calls opens a span: it nests under the attempt
    step.attempt = 2  # the engine counts the next attempt before it tells of the retry
    observer.node_retrying(step, OSError("no water"), 0.0)
    observer.node_started(step)
    with observer.around_attempt(step):
        pass
    step.status = NodeStatus.READY
    observer.node_finished(step)
    root.status = NodeStatus.NOT_READY
    observer.node_finished(root)
    observer.run_finished(root, None)

    spans = {(s.name, s.attributes.get("tasktronaut.attempt")): s
             for s in exporter.get_finished_spans()}
    run = spans[("run Brew [night]", None)]
    first, second = spans[("Brew.boil", 1)], spans[("Brew.boil", 2)]
    library = spans[("library call", None)]
    assert library.parent.span_id == first.context.span_id
    assert first.parent.span_id == run.context.span_id
    assert first.attributes["tasktronaut.identifier"] == "night"
    assert first.attributes["tasktronaut.outcome"] == "failed"
    assert first.status.status_code is trace.StatusCode.ERROR
    assert first.events[0].name == "exception"
    assert "no water" in first.events[0].attributes["exception.message"]
    assert second.attributes["tasktronaut.outcome"] == "ready"
    assert run.status.status_code is trace.StatusCode.ERROR
    assert len(exporter.get_finished_spans()) == 4

    metrics = _metrics(reader)
    assert sorted(a["tasktronaut.outcome"] for a, _ in metrics["tasktronaut.attempts"]) == [
        "failed", "ready"]
    assert sum(count for _, count in metrics["tasktronaut.attempt.duration"]) == 2
    assert {a["tasktronaut.state"] for a, _ in metrics["tasktronaut.nodes"]} == {
        "ready", "blocked"}


def test_an_attempt_that_ran_elsewhere_gets_its_span_from_the_runs_events(telemetry):
    observer, exporter, _ = telemetry

    @task
    def remote():
        yield "remote"
        yield Asset(None, lambda: False)
        yield None

    root = remote.build()
    observer.run_started(root, [root])
    observer.node_started(root)
    root.status, root.error = NodeStatus.FAILED, RuntimeError("worker died")
    observer.node_finished(root)
    observer.run_finished(root, None)
    spans = {s.name: s for s in exporter.get_finished_spans()}
    attempt = spans["remote"]
    assert attempt.parent.span_id == spans["run remote"].context.span_id
    assert attempt.attributes["tasktronaut.outcome"] == "failed"
    assert attempt.events[0].attributes["exception.message"] == "worker died"


def test_nothing_of_opentelemetry_is_imported_by_a_plain_run():
    import subprocess
    import sys

    code = ("import sys, tasktronaut; from tasktronaut.cli import main; "
            "print(any(m.startswith(('opentelemetry', 'rich')) for m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "False"


PROVIDER = {}


class Flaky(ProcessDefinition):
    process_execution_mode = ExecutionMode.CONCURRENT

    def define_process(self, builder):
        builder.task(self.fetch)
        builder.task(self.shaky, retries=1)

    def fetch(self) -> None:
        tracer = trace.get_tracer("a.library", tracer_provider=PROVIDER["tracer"])
        with tracer.start_as_current_span("GET /data"):
            pass

    def shaky(self, context) -> None:
        raise RuntimeError(f"attempt {context.attempt} failed")


@pytest.mark.parametrize("threads", [1, 2])
def test_a_real_run_nests_library_spans_under_attempts_under_the_run(telemetry, threads):
    observer, exporter, reader = telemetry
    PROVIDER["tracer"] = observer.tracer_provider
    root = Flaky.build("nightly").run(threads=threads, observers=[observer])
    assert not root.ready
    spans = exporter.get_finished_spans()
    by_name = {}
    for span in spans:
        by_name.setdefault(span.name, []).append(span)
    run = by_name["run Flaky [nightly]"][0]
    fetch = by_name["Flaky.fetch"][0]
    assert by_name["GET /data"][0].parent.span_id == fetch.context.span_id
    assert fetch.parent.span_id == run.context.span_id
    shaky = sorted(by_name["Flaky.shaky"], key=lambda s: s.attributes["tasktronaut.attempt"])
    assert [s.attributes["tasktronaut.attempt"] for s in shaky] == [1, 2]
    assert all(s.attributes["tasktronaut.outcome"] == "failed" for s in shaky)
    assert shaky[1].events[0].attributes["exception.message"] == "attempt 2 failed"
    assert all(s.attributes["tasktronaut.identifier"] == "nightly" for s in shaky)
    assert _metrics(reader)["tasktronaut.attempts"]
