"""The progress line on a terminal and the summary at the end of a run."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from typing import IO, Any

import attrs
from loguru import logger

from tasktronaut.logs import logcfg
from tasktronaut.model.node import Node, NodeKind, NodeStatus, traverse

_EXECUTING = ": Executing"
_ACTIONS = (NodeKind.TASK, NodeKind.STEP)


def _counted(node: Node) -> bool:
    """Join nodes only connect blocks of a process; they are not counted as tasks."""
    return node.kind is not NodeKind.JOIN


class Progress:
    """Counts of a run in progress: done, running and pending tasks.

    ``listener`` is the engine's listener (a node got its final status); ``observe`` is a log
    sink that sees which tasks start executing. With a ``stream`` (an interactive terminal) the
    counts are kept on one live line: the sink ``clear`` wipes it before each log line and
    ``observe`` draws it again after. Log lines come from worker threads too, so ``clear``
    takes a lock that ``observe`` releases: no thread can draw while another writes its line.
    The wait is bounded, so a sink that never follows cannot hang the run.
    """

    WAIT = 1.0

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream
        self.total = 0
        self.done = 0
        self.running: set[str] = set()
        self._drawn = False
        self._lock = threading.RLock()
        self._held = threading.local()

    def start(self, root: Node) -> None:
        """Count what the run has to visit: every node that was not ready already."""
        self.total = sum(
            1 for n in traverse(root) if n.status is not NodeStatus.ALREADY_READY and _counted(n)
        )

    def listener(self, node: Node) -> None:
        if not _counted(node):
            return
        with self._lock:
            self.done += 1
            self.running.discard(node.taskname)
            self._draw()

    def clear(self, *_: Any) -> None:
        """Log sink called before the line is written: hide the live line."""
        self._held.value = self._lock.acquire(timeout=self.WAIT)
        self._wipe()

    def observe(self, message: Any) -> None:
        """Log sink called after the line is written: note a start, show the line again."""
        try:
            text = str(message.record["message"])
            if text.endswith(_EXECUTING):
                self.running.add(text[: -len(_EXECUTING)])
            self._draw()
        finally:
            if getattr(self._held, "value", False):
                self._held.value = False
                self._lock.release()

    def close(self) -> None:
        """Remove the live line for good."""
        held = self._lock.acquire(timeout=self.WAIT)
        try:
            self._wipe()
            self.stream = None
        finally:
            if held:
                self._lock.release()

    @property
    def pending(self) -> int:
        return max(self.total - self.done - len(self.running), 0)

    def line(self) -> str:
        return f"Progress: {self.done} done, {len(self.running)} running, {self.pending} pending"

    def _draw(self) -> None:
        if self.stream is not None:
            self.stream.write("\r\x1b[K" + self.line())
            self.stream.flush()
            self._drawn = True

    def _wipe(self) -> None:
        if self.stream is not None and self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._drawn = False


def interactive(stream: IO[str]) -> bool:
    """Whether ``stream`` is a terminal that can redraw a line."""
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):
        return False


@contextlib.contextmanager
def logging_to_stderr(verbose: bool, progress: Progress | None) -> Iterator[None]:
    """Install the log sink on stderr (and the live progress line around it, if any)."""
    level = "DEBUG" if verbose else "INFO"
    handlers = []
    if progress is not None and progress.stream is not None:
        handlers.append(logger.add(progress.clear, level=level, format="{message}"))
    logcfg(verbose)
    if progress is not None and progress.stream is not None:
        handlers.append(logger.add(progress.observe, level=level, format="{message}"))
    try:
        yield
    finally:
        if progress is not None:
            progress.close()
        for handler in handlers:
            logger.remove(handler)


@attrs.frozen
class Summary:
    """What a run did, counted over the graph below its root (join nodes left out)."""

    ran: int
    already_ready: int
    not_ready: int
    failed: int
    cancelled: int
    skipped: int
    elapsed: float

    @classmethod
    def of(cls, root: Node, elapsed: float) -> Summary:
        """Count the nodes below ``root``; "run" counts the tasks and steps whose action ran
        and made them ready (a collection or process that became ready ran nothing itself)."""
        counts = dict.fromkeys(NodeStatus, 0)
        ran = 0
        for node in traverse(root):
            if _counted(node):
                counts[node.status] += 1
                ran += node.status is NodeStatus.READY and node.kind in _ACTIONS
        return cls(
            ran=ran,
            already_ready=counts[NodeStatus.ALREADY_READY],
            not_ready=counts[NodeStatus.NOT_READY],
            failed=counts[NodeStatus.FAILED],
            cancelled=counts[NodeStatus.CANCELLED],
            skipped=counts[NodeStatus.SKIPPED] + counts[NodeStatus.NEW],
            elapsed=elapsed,
        )

    def lines(self) -> list[str]:
        counts = (f"{self.ran} run, {self.already_ready} already ready, "
                  f"{self.not_ready} not ready, {self.failed} failed")
        extra = [f"{n} {what}" for n, what in ((self.cancelled, "cancelled"),
                                                (self.skipped, "not started")) if n]
        return [f"Summary: {', '.join([counts, *extra])}", f"Elapsed: {elapsed(self.elapsed)}"]


def elapsed(seconds: float) -> str:
    """``0.42s``, ``12.3s`` or ``2m 05s``."""
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m {rest:02d}s"


