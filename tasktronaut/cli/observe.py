"""How ``tasktronaut run`` watches a run: logging options, the display, facts, reports.

The command builds the observers here and hands them to the run; after it, the facts give the
summary and the report. Nothing here changes what a run does.

The log of a plain run (text on stderr) goes through the stdlib logger ``tasktronaut`` with
iotaa's line format, so that it costs no loguru import; loguru's sinks are installed as
:func:`~tasktronaut.logs.add_sinks` does for JSON, a log file, the one-line progress, and for
a workflow that imports loguru itself, whose own ``logger`` calls and sinks then see the
run's records with their context fields, as they always did.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from tasktronaut import logs
from tasktronaut.cli.errors import CliError, describe
from tasktronaut.engine.facts import RunFacts, identifier_of
from tasktronaut.logs import add_sinks, log_context, loguru

if TYPE_CHECKING:  # the displays load on a terminal only
    from tasktronaut.cli.display import Tally
    from tasktronaut.cli.progress import Above

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("text", "json")


def logging_options(function: Any) -> Any:
    """The logging and observing options of ``run`` (``--quiet``, ``--log-*``, ``--report``,
    ``--otel``)."""
    options = [
        click.option("-q", "--quiet", is_flag=True,
                     help="Only warnings and errors; no live display."),
        click.option("--log-level", type=click.Choice(LOG_LEVELS, case_sensitive=False),
                     default=None, help="The lowest level logged (default INFO; DEBUG with "
                                        "--verbose, WARNING with --quiet)."),
        click.option("--log-format", type=click.Choice(LOG_FORMATS), default="text",
                     show_default=True,
                     help="text: iotaa's lines; json: one JSON object a line, with the run "
                          "id, process identifier, task and attempt as fields."),
        click.option("--log-file", type=click.Path(dir_okay=False, path_type=Path),
                     metavar="PATH", help="Also write the log to this file."),
        click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
                     metavar="PATH",
                     help="Write a run report: PATH.html (a self-contained page) or "
                          "PATH.json."),
        click.option("--otel", is_flag=True,
                     help="Trace the run with OpenTelemetry (needs tasktronaut[otel] and a "
                          "configured SDK)."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def level_of(verbose: bool, quiet: bool, level: str | None) -> str:
    """The log level the options ask for (``--log-level`` wins)."""
    if level is not None:
        return level.upper()
    return "DEBUG" if verbose else "WARNING" if quiet else "INFO"


def interactive(stream: IO[str]) -> bool:
    """Whether ``stream`` is a terminal that can redraw a line."""
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):
        return False


def rich_available() -> bool:
    """Whether the optional rich extra is installed (without importing it)."""
    from importlib.util import find_spec

    return find_spec("rich") is not None


def display_for(stream: IO[str], quiet: bool, fmt: str) -> Tally | None:
    """The live display for ``stream``: rich's on a terminal (the one-line progress when
    rich is missing), none off a terminal, when quiet, or when logging JSON."""
    if quiet or fmt == "json" or not interactive(stream):
        return None
    if rich_available():
        from tasktronaut.cli.display import LiveDisplay

        return LiveDisplay(stream)
    from tasktronaut.cli.progress import Progress

    return Progress(stream)


def loguru_in_use() -> bool:
    """Whether something in this process (the workflow, the application) imported loguru."""
    return "loguru" in sys.modules


class RunSinks:
    """Where the records of a command-line run go, from before its target is imported until
    it has run (see the module's docstring for which sinks when)."""

    def __init__(self, level: str, fmt: str, file: Path | None, display: Tally | None) -> None:
        self.level, self.fmt, self.file = level, fmt, file
        progress = sys.modules.get("tasktronaut.cli.progress")  # loaded if it is one
        self.progress = display if progress is not None and isinstance(
            display, progress.Progress) else None
        self.display = display
        self._handlers: list[int] = []
        self._undo: Any = None
        self._above: Above | None = None
        self._stdout = sys.stdout

    def open(self) -> None:
        """Install the sinks the options ask for."""
        if self.fmt == "text" and self.file is None and self.progress is None \
                and not loguru_in_use():
            self._undo = logs.stderr_lines(self.level)
        else:
            self._add_loguru_sinks()

    def settle(self) -> None:
        """Once the target's module is imported: if it imported loguru, move to loguru's
        sinks before anything is built or run."""
        if self._undo is not None and loguru_in_use():
            self._undo()
            self._undo = None
            self._add_loguru_sinks()

    def _add_loguru_sinks(self) -> None:
        progress, level = self.progress, self.level
        if progress is not None:
            self._handlers.append(loguru().add(progress.clear, level=level, format="{message}"))
        try:
            self._handlers += add_sinks(level, self.fmt, self.file)
        except (OSError, ValueError) as e:
            raise CliError(f"cannot write the log file {self.file}: {describe(e)}") from e
        if progress is not None:
            self._handlers.append(loguru().add(progress.observe, level=level,
                                               format="{message}"))
            if interactive(self._stdout):
                from tasktronaut.cli.progress import Above

                self._above = sys.stdout = Above(progress, self._stdout)  # output above it

    def close(self) -> None:
        """Remove what :meth:`open` and :meth:`settle` installed, and the display."""
        if self._above is not None:
            sys.stdout = self._stdout
            self._above.close()
        close = getattr(self.display, "close", None)  # a live display, or the progress
        if close is not None:
            close()
        if self._undo is not None:
            self._undo()
        for handler in self._handlers:
            with contextlib.suppress(ValueError):
                loguru().remove(handler)


@contextlib.contextmanager
def run_logging(level: str, fmt: str, file: Path | None,
                display: Tally | None) -> Iterator[RunSinks]:
    """The run's sinks (and the one-line progress's redraw around them) while it lasts."""
    sinks = RunSinks(level, fmt, file, display)
    try:
        sinks.open()
        yield sinks
    finally:
        sinks.close()


def observers_for(facts: RunFacts, display: Tally | None, otel: bool) -> list[Any]:
    """The observers of a command-line run (the task context on records when a sink shows
    context fields)."""
    observers: list[Any] = [facts, TaskContext()] if logs.context_wanted else [facts]
    if display is not None:
        observers.append(display)
    if otel:
        try:
            from tasktronaut.otel import Telemetry
        except ImportError as e:
            raise CliError("--otel needs OpenTelemetry: pip install 'tasktronaut[otel]'") from e
        observers.append(Telemetry())
    return observers


class TaskContext:
    """Records logged while an attempt runs carry its task name and attempt number."""

    @contextlib.contextmanager
    def around_attempt(self, node: Any) -> Iterator[None]:
        with log_context(task=node.taskname, attempt=node.attempt):
            yield


def run_context(facts: RunFacts, root: Any) -> Any:
    """Records logged during the run carry its run id and process identifier."""
    return log_context(run_id=facts.run_id, identifier=identifier_of(root))
