"""The one-line progress on a terminal (without rich), and logging to stderr for the commands
that do not run a graph."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import IO, Any

from tasktronaut.cli.display import Tally, status_text
from tasktronaut.logs import logcfg, loguru
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


@contextlib.contextmanager
def logging_to_stderr(verbose: bool, progress: Progress | None) -> Iterator[None]:
    """Install the log sink on stderr (and the live progress line around it, if any)."""
    level = "DEBUG" if verbose else "INFO"
    handlers = []
    if progress is not None and progress.stream is not None:
        handlers.append(loguru().add(progress.clear, level=level, format="{message}"))
    logcfg(verbose)
    if progress is not None and progress.stream is not None:
        handlers.append(loguru().add(progress.observe, level=level, format="{message}"))
    try:
        yield
    finally:
        if progress is not None:
            progress.close()
        for handler in handlers:
            loguru().remove(handler)
