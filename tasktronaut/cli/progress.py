"""The one-line progress on a terminal (without rich) and the summary at the end of a run."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, Any

import attrs
from loguru import logger

from tasktronaut.cli.display import Tally, status_text
from tasktronaut.engine.facts import (
    NodeRecord,
    RunRecord,
    graph_order,
    node_record,
    ran_action,
    totals,
)
from tasktronaut.logs import logcfg
from tasktronaut.model.node import Node


class Progress(Tally):
    """The one-line progress on a terminal when rich is not installed.

    Counts come from the engine's events (:class:`~tasktronaut.cli.display.Tally`). The line
    is kept live on ``stream``: the log sink ``clear`` wipes it before each log line and
    ``observe`` draws it again after. Log lines come from worker threads too, so ``clear``
    takes a lock that ``observe`` releases: no thread can draw while another writes its line.
    The wait is bounded, so a sink that never follows cannot hang the run.
    """

    WAIT = 1.0

    def __init__(self, stream: IO[str] | None = None) -> None:
        super().__init__()
        self.stream = stream
        self._drawn = False
        self._draw_lock = threading.RLock()
        self._held = threading.local()

    def node_started(self, node: Node) -> None:
        super().node_started(node)
        self._redraw()

    def node_finished(self, node: Node) -> None:
        super().node_finished(node)
        self._redraw()

    def run_finished(self, root: Node, reason: Any) -> None:
        self.close()

    def clear(self, *_: Any) -> None:
        """Log sink called before the line is written: hide the live line."""
        self._held.value = self._draw_lock.acquire(timeout=self.WAIT)
        self._wipe()

    def observe(self, message: Any) -> None:
        """Log sink called after the line is written: show the live line again."""
        try:
            self._draw()
        finally:
            if getattr(self._held, "value", False):
                self._held.value = False
                self._draw_lock.release()

    def close(self) -> None:
        """Remove the live line for good."""
        held = self._draw_lock.acquire(timeout=self.WAIT)
        try:
            self._wipe()
            self.stream = None
        finally:
            if held:
                self._draw_lock.release()

    def line(self) -> str:
        return "Progress: " + status_text(self)

    def _redraw(self) -> None:
        with self._draw_lock:
            self._draw()

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


class Above:
    """A stand-in for ``sys.stdout`` while the one-line progress is shown on the same
    terminal: whole lines are written above the progress line, never through it."""

    def __init__(self, progress: Progress, stream: IO[str]) -> None:
        self.progress = progress
        self.stream = stream
        self._partial = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self._partial += text
            if "\n" not in self._partial:
                return len(text)
            lines, self._partial = self._partial.rsplit("\n", 1)
        self.progress.clear()
        try:
            self.stream.write(lines + "\n")
            self.stream.flush()
        finally:
            self.progress.observe(None)
        return len(text)

    def flush(self) -> None:
        """Lines are written whole; a partial one waits for its end (or :meth:`close`)."""

    def close(self) -> None:
        """Write what is left of a last line that never ended."""
        with self._lock:
            rest, self._partial = self._partial, ""
        if rest:
            self.stream.write(rest)
            self.stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


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
    """What a run did, counted over the graph below its root (join nodes left out), with
    the failed nodes, the blocked ones and what blocks them, and the slowest steps."""

    ran: int
    already_ready: int
    not_ready: int
    """Nodes not ready at the end, blocked ones included."""
    failed: int
    cancelled: int
    skipped: int
    elapsed: float
    blocked: int = 0
    failures: tuple[tuple[str, str], ...] = ()
    """(node, first line of its error) for every failed node."""
    waits: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """(blocked node, the requirements that were not ready)."""
    causes: tuple[str, ...] = ()
    """What the blocked nodes wait for in the end: the nodes that are not ready and not
    blocked themselves."""
    slowest: tuple[tuple[str, float], ...] = ()

    @classmethod
    def of(cls, root: Node, elapsed: float) -> Summary:
        """Count the nodes below ``root`` as they stand now (no timings)."""
        nodes = graph_order(root)
        records = [node_record(n) for n in nodes]
        ran = sum(1 for n in nodes if ran_action(n))
        return cls.of_records(records, totals([r.state for r in records], ran), elapsed)

    @classmethod
    def of_record(cls, record: RunRecord) -> Summary:
        """The summary of a run's record (with the slowest steps)."""
        return cls.of_records(record.nodes, record.totals, record.seconds)

    @classmethod
    def of_records(cls, records: Sequence[NodeRecord], counts: Mapping[str, int],
                   elapsed: float) -> Summary:
        by_name = {r.name: r for r in records}
        blocked = [r for r in records if r.state == "blocked"]
        timed = sorted((r for r in records if r.attempts and r.kind in ("task", "step")),
                       key=lambda r: -r.seconds)
        return cls(
            ran=counts["ran"],
            already_ready=counts["already ready"],
            not_ready=counts["not ready"] + counts["blocked"],
            failed=counts["failed"],
            cancelled=counts["cancelled"],
            skipped=counts["skipped"] + counts["pending"],
            elapsed=elapsed,
            blocked=counts["blocked"],
            failures=tuple((r.name, r.error or "failed") for r in records
                           if r.state == "failed"),
            waits=tuple((r.name, r.blocked_by) for r in blocked),
            causes=_causes(blocked, by_name),
            slowest=tuple((r.name, r.seconds) for r in timed[:SLOWEST]),
        )

    def lines(self, verbose: bool = False) -> list[str]:
        """The summary as log lines: counts, then what failed, what is blocked (each blocked
        node when ``verbose``), the slowest steps, and the time taken."""
        counts = (f"{self.ran} run, {self.already_ready} already ready, "
                  f"{self.not_ready} not ready, {self.failed} failed")
        extra = [f"{n} {what}" for n, what in ((self.cancelled, "cancelled"),
                                                (self.skipped, "not started")) if n]
        lines = [f"Summary: {', '.join([counts, *extra])}"]
        lines += [f"Failed: {name}: {error}" for name, error in self.failures]
        if self.blocked:
            lines.append(f"Blocked: {self.blocked} task(s), waiting for "
                         f"{_names(self.causes, None if verbose else BRIEF)}")
            if verbose:
                lines += [f"Blocked: {name} waits for {_names(on, None)}"
                          for name, on in self.waits]
        if self.slowest and (verbose or self.slowest[0][1] >= SLOW):
            lines.append("Slowest: " + ", ".join(f"{name} ({elapsed(seconds)})"
                                                 for name, seconds in self.slowest))
        lines.append(f"Elapsed: {elapsed(self.elapsed)}")
        return lines


SLOWEST = 3
"""How many of the slowest steps the summary names."""
SLOW = 0.1
"""Seconds: the slowest steps are named when one took this long (always with ``verbose``)."""
BRIEF = 3
"""How many names a brief line lists before "and N more"."""


def _causes(blocked: Sequence[NodeRecord], by_name: Mapping[str, NodeRecord]) -> tuple[str, ...]:
    """Follow what blocked nodes wait for down to the nodes that are not blocked themselves."""
    causes: dict[str, None] = {}
    seen: set[str] = set()
    todo = [name for r in blocked for name in r.blocked_by]
    while todo:
        name = todo.pop(0)
        if name in seen:
            continue
        seen.add(name)
        record = by_name.get(name)
        if record is not None and record.state == "blocked":
            todo.extend(record.blocked_by)
        else:
            state = record.state if record is not None else "not ready"
            causes[f"{name} ({state})"] = None
    return tuple(causes)


def _names(names: Sequence[str], limit: int | None) -> str:
    if limit is None or len(names) <= limit:
        return ", ".join(names)
    return f"{', '.join(names[:limit])} and {len(names) - limit} more"


def elapsed(seconds: float) -> str:
    """``0.42s``, ``12.3s`` or ``2m 05s``."""
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m {rest:02d}s"


