"""The live display of a run on a terminal: a bar, the counts, the time, the running steps.

:class:`LiveDisplay` is an observer drawn with rich (the optional extra ``tasktronaut[rich]``,
imported only when a display is shown). While it is live, whatever the run writes to
``sys.stderr`` (log lines), and to ``sys.stdout`` when that is the terminal too (a step's
``print``), is printed above the display, never through it; stdout redirected to a file stays
in the file. Without rich, the one-line :class:`~tasktronaut.cli.progress.Progress` is
shown instead; off a terminal there is no live display at all, only plain log lines.

The display counts tasks and steps, the nodes with an action, as the summary's "run" does;
the total is what this run has to do (those ready already are left out, and so are those a
stopped run will never start, counted as "not started"). A node counts as done once it has its
outcome, failed ones included (they are also counted as failed).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

from tasktronaut.engine.events import Observer
from tasktronaut.model.node import Node, NodeKind, NodeStatus

if TYPE_CHECKING:
    from tasktronaut.engine.stop import StopReason

_FAILED = (NodeStatus.FAILED, NodeStatus.CANCELLED)
_ACTIONS = (NodeKind.TASK, NodeKind.STEP)
SHOWN_RUNNING = 4
"""How many running steps the display names before "and N more"."""


class Tally(Observer):
    """The counts of a run in progress, kept from the engine's events (thread-safe reads)."""

    def __init__(self) -> None:
        self.total = 0
        self.done = 0
        self.failed = 0
        self.skipped = 0
        self.running: dict[int, str] = {}
        self.started = time.monotonic()
        self._todo: set[int] = set()
        self.lock = threading.Lock()

    def run_started(self, root: Node, nodes: Sequence[Node]) -> None:
        todo = {id(n) for n in nodes
                if n.kind in _ACTIONS and n.status is not NodeStatus.ALREADY_READY}
        with self.lock:
            self._todo, self.total = todo, len(todo)
            self.started = time.monotonic()

    def node_started(self, node: Node) -> None:
        if id(node) in self._todo:
            with self.lock:
                self.running[id(node)] = node.taskname

    def node_finished(self, node: Node) -> None:
        if id(node) not in self._todo:
            return
        with self.lock:
            self._todo.discard(id(node))
            self.running.pop(id(node), None)
            if node.status in _FAILED:
                self.failed += 1
            elif node.status is NodeStatus.SKIPPED:
                self.skipped += 1
            else:
                self.done += 1

    def snapshot(self) -> tuple[int, int, int, list[str], float]:
        """(finished, failed, total, running names, elapsed seconds), consistently; what
        will never start (a stopped run) is taken off the total."""
        with self.lock:
            return (self.done + self.failed, self.failed, self.total - self.skipped,
                    list(self.running.values()), time.monotonic() - self.started)

    def eta(self) -> float | None:
        """Seconds left at the pace so far (``None`` before anything finished)."""
        finished, _, total, _, spent = self.snapshot()
        if not finished or finished >= total:
            return None
        return spent / finished * (total - finished)


def clock(seconds: float) -> str:
    """``0:07`` or ``1:02:03``."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def status_text(tally: Tally) -> str:
    """``12/30 done, 1 failed, 2 running, 0:07 elapsed, ETA 0:10``."""
    finished, failed, total, running, spent = tally.snapshot()
    eta = tally.eta()
    skipped = f", {tally.skipped} not started" if tally.skipped else ""
    return (f"{finished}/{total} done, {failed} failed, {len(running)} running{skipped}, "
            f"{clock(spent)} elapsed" + (f", ETA {clock(eta)}" if eta is not None else ""))


def running_text(tally: Tally) -> str:
    """The names of the running steps (the first few)."""
    names = tally.snapshot()[3]
    if not names:
        return ""
    more = f" and {len(names) - SHOWN_RUNNING} more" if len(names) > SHOWN_RUNNING else ""
    return "Running: " + ", ".join(names[:SHOWN_RUNNING]) + more


class LiveDisplay(Tally):
    """A rich live display on ``stream`` (a terminal) for the length of a run."""

    def __init__(self, stream: IO[str]) -> None:
        super().__init__()
        from rich.console import Console  # the optional extra, only when a display is shown

        self.console = Console(file=stream, stderr=True)
        self.live: Any = None

    def __rich__(self) -> Any:
        from rich.console import Group
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        finished, failed, total, _, _ = self.snapshot()
        line = Table.grid(padding=(0, 1))
        line.add_row(ProgressBar(total=max(total, 1), completed=finished, width=30,
                                 style="grey37", complete_style="red" if failed else "green",
                                 finished_style="red" if failed else "green"),
                     Text(status_text(self)))
        running = running_text(self)
        return Group(line, Text(running, no_wrap=True, overflow="ellipsis")) if running else line

    def run_started(self, root: Node, nodes: Sequence[Node]) -> None:
        super().run_started(root, nodes)
        from rich.live import Live

        # Step output meant for a terminal goes above the display; stdout redirected to a
        # file or a pipe stays there.
        self.live = Live(self, console=self.console, refresh_per_second=8,
                         redirect_stdout=_is_terminal(sys.stdout), redirect_stderr=True,
                         transient=False)
        self.live.start()

    def run_finished(self, root: Node, reason: StopReason | None) -> None:
        self.close()

    def close(self) -> None:
        """Draw the final state and stop (safe to call twice)."""
        live, self.live = self.live, None
        if live is not None:
            live.refresh()
            live.stop()


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
