"""How ``tasktronaut run`` watches a run: logging options, the display, facts, reports.

The command builds the observers here and hands them to the run; after it, the facts give the
summary and the report. Nothing here changes what a run does.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import click
from loguru import logger

from tasktronaut.cli.display import LiveDisplay, Tally, rich_available
from tasktronaut.cli.errors import CliError, describe
from tasktronaut.cli.progress import Above, Progress, interactive
from tasktronaut.engine.facts import RunFacts, identifier_of
from tasktronaut.logs import add_sinks, log_context

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


def display_for(stream: IO[str], quiet: bool, fmt: str) -> Tally | None:
    """The live display for ``stream``: rich's on a terminal (the one-line progress when
    rich is missing), none off a terminal, when quiet, or when logging JSON."""
    if quiet or fmt == "json" or not interactive(stream):
        return None
    if rich_available():
        return LiveDisplay(stream)
    return Progress(stream)


@contextlib.contextmanager
def run_logging(level: str, fmt: str, file: Path | None,
                display: Tally | None) -> Iterator[None]:
    """Install the run's sinks (and the one-line progress's redraw around them)."""
    progress = display if isinstance(display, Progress) else None
    handlers = []
    if progress is not None:
        handlers.append(logger.add(progress.clear, level=level, format="{message}"))
    try:
        handlers += add_sinks(level, fmt, file)
    except (OSError, ValueError) as e:
        raise CliError(f"cannot write the log file {file}: {describe(e)}") from e
    if progress is not None:
        handlers.append(logger.add(progress.observe, level=level, format="{message}"))
    stdout = sys.stdout
    above = Above(progress, stdout) if progress is not None and interactive(stdout) else None
    if above is not None:
        sys.stdout = above  # step output above the line
    try:
        yield
    finally:
        if above is not None:
            sys.stdout = stdout
            above.close()
        if isinstance(display, (LiveDisplay, Progress)):
            display.close()
        for handler in handlers:
            with contextlib.suppress(ValueError):
                logger.remove(handler)


def observers_for(facts: RunFacts, display: Tally | None, otel: bool) -> list[Any]:
    """The observers of a command-line run."""
    observers: list[Any] = [facts, TaskContext()]
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
