"""The default observer: a run's events as iotaa-format log lines.

The text is contract (iotaa's users read and grep it): ``Executing``, ``Ready``,
``Not ready`` with a ``Requires:`` block, ``Task failed: ...`` (the traceback at DEBUG), the
retry warning, and the line that says how many tasks a stopped run never started. A run whose
logger shows none of these levels gets no reporter at all, so it costs nothing.
"""

from __future__ import annotations

import traceback
from collections.abc import Sequence

from tasktronaut.engine.outcome import describe
from tasktronaut.engine.stop import StopReason
from tasktronaut.logs import DEBUG, RunLog
from tasktronaut.model.node import Node, NodeKind, NodeStatus
from tasktronaut.model.report import readiness_lines, tree_lines

_READY, _ALREADY = NodeStatus.READY, NodeStatus.ALREADY_READY
_FAILED, _CANCELLED = NodeStatus.FAILED, NodeStatus.CANCELLED
_JOIN, _PROCESS = NodeKind.JOIN, NodeKind.PROCESS


def executing(node: Node) -> str:
    """The line that says an attempt starts."""
    if node.attempt == 1:
        return f"{node.taskname}: Executing"
    return f"{node.taskname}: Executing (attempt {node.attempt} of {node.options.max_attempts})"


class Reporter:
    """Writes the iotaa-format lines of a run to its logger."""

    trusted = True  # the engine's own: it never raises, so the bus calls it unguarded

    def __init__(self, log: RunLog) -> None:
        self.log = log
        self.quiet_when_ready = not (log.info_on or log.debug_on)
        """A node that became ready gets no line: the bus need not tell this reporter."""
        if not log.info_on:  # its own methods are what the bus looks for: drop unused ones
            self.node_started = None  # type: ignore[assignment]

    @staticmethod
    def wanted(log: RunLog) -> bool:
        """Whether any line of the reporter would show."""
        return bool(log.debug_on or log.info_on or log.warning_on or log.error_on)

    def run_started(self, root: Node, nodes: Sequence[Node]) -> None:
        log = self.log
        if not log.debug_on:
            return
        log.emit(DEBUG, "Deduplicating task-graph nodes")  # iotaa's first verbose line
        for title in ("Task Graph", None, "Execution"):
            if title is None:
                for line in tree_lines(root):
                    log.emit(DEBUG, line)
                continue
            log.emit(DEBUG, "─" * len(title))
            log.emit(DEBUG, title)
            log.emit(DEBUG, "─" * len(title))

    def node_started(self, node: Node) -> None:
        if node.kind is not _PROCESS:
            self.log.info(executing(node))

    def node_retrying(self, node: Node, error: BaseException, delay: float) -> None:
        self.log.warning(
            f"{node.taskname}: Attempt {node.attempt - 1} of {node.options.max_attempts} "
            f"failed: {describe(error)}; retrying in {delay:.3g}s"
        )

    def node_finished(self, node: Node) -> None:
        status = node.status
        if status is _READY:
            if self.log.info_on and node.kind is not _JOIN:
                self.log.info(f"{node.taskname}: Ready")
        elif status is _FAILED:
            self._failed(node)
        elif status is _CANCELLED:
            assert node.error is not None
            self.log.warning(f"{node.taskname}: Cancelled: {describe(node.error)}")
        elif status is NodeStatus.NOT_READY:
            self.report(node)
        elif status is NodeStatus.SKIPPED:
            return
        if status is not _FAILED and node.kind is not _JOIN and self.log.debug_on:
            self.log.emit(DEBUG, f"{node.taskname}: Task completed")

    def run_finished(self, root: Node, reason: StopReason | None) -> None:
        if root.status is _ALREADY:
            self.report(root)

    def stopped(self, reason: StopReason, skipped: int, root: Node) -> None:
        """A stopped run never started ``skipped`` tasks: say so, and report the root."""
        self.log.warning(f"{reason.value}: {skipped} task(s) not started")
        self.report(root)

    def report(self, node: Node) -> None:
        """iotaa's readiness lines for ``node``."""
        if node.kind is _JOIN:
            return
        log = self.log
        if node.status is _READY or node.status is _ALREADY:
            if log.info_on:
                log.info(f"{node.taskname}: Ready")
        elif log.warning_on:
            for line in readiness_lines(node):
                log.warning(line)

    def _failed(self, node: Node) -> None:
        error = node.error
        assert error is not None
        name = node.taskname
        self.log.error(f"{name}: Task failed: {describe(error)}")
        if self.log.debug_on:
            try:
                chunks = traceback.format_exception(error)
            except Exception:
                chunks = [f"{type(error).__name__} (its traceback could not be formatted)"]
            for chunk in chunks:
                for line in chunk.rstrip("\n").split("\n"):
                    self.log.emit(DEBUG, f"{name}: Task failed: {line}")
