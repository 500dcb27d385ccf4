"""OpenTelemetry for runs: a span per run and per attempt, counters and a duration histogram.

Install the extra (``pip install 'tasktronaut[otel]'``), configure OpenTelemetry as usual
(providers, exporters; ``opentelemetry-instrument`` does it from the environment) and give
the run the observer::

    from tasktronaut.otel import Telemetry
    root = node.run(observers=[Telemetry()])      # or: tasktronaut run ... --otel

Each attempt's span is opened where the action runs (``around_attempt``), so spans that
libraries open inside the action (an HTTP call, a database query) are its children, and the
attempt span is a child of the run's span. Attempts that run in worker processes or on Dask
get their span from the run's own events (it starts when the attempt was handed over).

Attributes: ``tasktronaut.task``, ``tasktronaut.identifier`` (a process identifier),
``tasktronaut.attempt`` and ``tasktronaut.outcome`` (``failed``, or the node's state:
``ready``, ``not ready``, ...); the exception of a failed attempt is recorded on its span.
Metrics: ``tasktronaut.attempts`` (counter), ``tasktronaut.attempt.duration`` (histogram,
seconds) and ``tasktronaut.nodes`` (counter of final node states). Nothing here is imported
by tasktronaut itself: a run without this observer pays nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from tasktronaut._version import __version__
from tasktronaut.engine.events import Observer
from tasktronaut.engine.facts import counted, first_line, identifier_of
from tasktronaut.model.node import Node, NodeStatus
from tasktronaut.model.report import state

if TYPE_CHECKING:
    from tasktronaut.engine.stop import StopReason

SCOPE = "tasktronaut"


class Telemetry(Observer):
    """Traces and metrics of runs, through the given (or the global) OpenTelemetry providers."""

    def __init__(self, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        from opentelemetry import metrics, trace

        self._trace = trace
        self.tracer_provider = tracer_provider or trace.get_tracer_provider()
        self.tracer = trace.get_tracer(SCOPE, __version__, tracer_provider)
        meter = metrics.get_meter(SCOPE, __version__, meter_provider=meter_provider)
        self.attempts = meter.create_counter(
            "tasktronaut.attempts", unit="{attempt}", description="Attempts of actions")
        self.duration = meter.create_histogram(
            "tasktronaut.attempt.duration", unit="s", description="How long attempts took")
        self.nodes = meter.create_counter(
            "tasktronaut.nodes", unit="{node}", description="Nodes by final state")
        self._run: Any = None
        self._context: Any = None
        self._identifier: str | None = None
        self._handed: dict[int, tuple[int, int]] = {}  # id(node) -> (attempt, start ns)
        self._spans: dict[int, list[Any]] = {}  # id(node) -> [span, end ns] where it ran
        self._lock = threading.Lock()

    def run_started(self, root: Node, nodes: Sequence[Node]) -> None:
        self._identifier = identifier_of(root)
        self._run = self.tracer.start_span(
            f"run {root.taskname}", attributes=self._attributes(root, run=True))
        self._context = self._trace.set_span_in_context(self._run)

    def node_started(self, node: Node) -> None:
        with self._lock:
            self._handed[id(node)] = (node.attempt, time.time_ns())

    @contextmanager
    def around_attempt(self, node: Node) -> Iterator[None]:
        """The attempt's span, current while the action runs; it ends with the attempt's
        outcome, which the run learns a moment later."""
        span = self.tracer.start_span(node.taskname, context=self._context,
                                      attributes=self._attributes(node))
        with self._lock:
            self._spans[id(node)] = [span, None]
        try:
            with self._trace.use_span(span, end_on_exit=False):
                yield
        finally:
            with self._lock:
                self._spans[id(node)][1] = time.time_ns()

    def node_retrying(self, node: Node, error: BaseException, delay: float) -> None:
        self._end_attempt(node, "failed", error)

    def node_finished(self, node: Node) -> None:
        if not counted(node):
            return
        error = node.error if node.status in (NodeStatus.FAILED, NodeStatus.CANCELLED) else None
        outcome = "failed" if error is not None else state(node)
        self._end_attempt(node, outcome, error)
        self.nodes.add(1, {"tasktronaut.state": state(node)})

    def run_finished(self, root: Node, reason: StopReason | None) -> None:
        span, self._run = self._run, None
        if span is None:
            return
        span.set_attribute("tasktronaut.outcome", state(root))
        if reason is not None:
            span.set_attribute("tasktronaut.stopped", reason.value)
        if not root.ready:
            span.set_status(self._trace.Status(self._trace.StatusCode.ERROR,
                                               f"{root.taskname} is {state(root)}"))
        span.end()

    def _end_attempt(self, node: Node, outcome: str, error: BaseException | None) -> None:
        """End the span of the attempt that just ended; one that ran elsewhere (a worker
        process, Dask: no ``around_attempt``) gets its span now, from the hand-over on."""
        with self._lock:
            handed = self._handed.pop(id(node), None)
            opened = self._spans.pop(id(node), None)
        if handed is None:
            return
        attempt, start = handed
        end = time.time_ns()
        if opened is not None:
            span, end = opened[0], opened[1] or end
        else:
            span = self.tracer.start_span(node.taskname, context=self._context,
                                          attributes=self._attributes(node), start_time=start)
        span.set_attribute("tasktronaut.attempt", attempt)
        span.set_attribute("tasktronaut.outcome", outcome)
        if error is not None:
            span.record_exception(error)
            span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, first_line(error)))
        span.end(end_time=end)
        self._measure(node, outcome, (end - start) / 1e9)

    def _measure(self, node: Node, outcome: str, seconds: float) -> None:
        labels = {"tasktronaut.task": node.taskname, "tasktronaut.outcome": outcome}
        self.attempts.add(1, labels)
        self.duration.record(seconds, labels)

    def _attributes(self, node: Node, run: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"tasktronaut.task": node.taskname}
        if not run:
            out["tasktronaut.attempt"] = node.attempt
        if self._identifier is not None:
            out["tasktronaut.identifier"] = self._identifier
        return out
