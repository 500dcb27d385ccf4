"""``tasktronaut graph``, ``show`` and ``report``: look at a target, a module or a past run;
nothing runs."""

from __future__ import annotations

import contextlib
import inspect
from pathlib import Path
from types import ModuleType
from typing import Any

import click

from tasktronaut.cli.config import (
    EXAMPLES,
    GRAPH_FORMATS,
    TargetCommand,
    arg_option,
    id_option,
    option_option,
    render_graph,
    stdout_to_stderr,
    verbose_option,
)
from tasktronaut.cli.errors import CliError, reporting
from tasktronaut.cli.progress import logging_to_stderr
from tasktronaut.cli.report import FORMATS as REPORT_FORMATS
from tasktronaut.cli.report import save_report
from tasktronaut.cli.state import open_state
from tasktronaut.cli.targets import build, is_process, load_module, load_target
from tasktronaut.define.decorators import TaskFunction, tasknames
from tasktronaut.engine.facts import load
from tasktronaut.state import DEFAULT_STATE_PATH


@click.command(cls=TargetCommand, epilog=EXAMPLES,
               short_help="Print the graph of a target; run nothing.")
@click.argument("target")
@click.argument("args", nargs=-1)
@arg_option
@option_option
@id_option
@click.option("-f", "--format", "fmt", type=click.Choice(sorted(GRAPH_FORMATS)), default="dot",
              show_default=True, help="The output format.")
@verbose_option
def graph(target: str, args: tuple[str, ...], arg_items: tuple[str, ...],
          option_items: tuple[str, ...], identifier: str | None, fmt: str,
          verbose: bool) -> None:
    """Print the graph of TARGET on stdout without running anything.

    Nodes are coloured by readiness: what is ready already, and what a run would do.
    """
    with logging_to_stderr(verbose, None), reporting(verbose), stdout_to_stderr(True):
        root = build(load_target(target), args, arg_items, option_items, identifier)
        text = render_graph(fmt, root)
    click.echo(text)


@click.command(epilog=EXAMPLES, short_help="List the tasks and processes of a module.")
@click.argument("module")
@verbose_option
def show(module: str, verbose: bool) -> None:
    """List the asset tasks and processes of MODULE (pkg.module or path/to/file.py)."""
    with logging_to_stderr(verbose, None), reporting(verbose):
        loaded = load_module(module)
    for line in show_lines(module, loaded):
        click.echo(line)


def show_lines(title: str, module: ModuleType) -> list[str]:
    """``Tasks in ...`` and ``Processes in ...``: each name with its first docstring line."""
    tasks = [(name, getattr(module, name)) for name in tasknames(module)]
    processes = sorted(
        (name, obj) for name, obj in vars(module).items()
        if not name.startswith("_") and is_process(obj) and obj.__module__ == module.__name__
    )
    lines = []
    for heading, found in (("Tasks", tasks), ("Processes", processes)):
        lines.append(f"{heading} in {title}:")
        for name, obj in found:
            lines.append(f"  {name}")
            doc = _first_line(obj)
            if doc:
                lines.append(f"    {doc}")
        if not found:
            lines.append("  (none)")
    return lines


def _first_line(obj: Any) -> str:
    """The first line of ``obj``'s own docstring (a class does not inherit one here)."""
    doc = obj.__doc__ if isinstance(obj, TaskFunction) else vars(obj).get("__doc__")
    lines = inspect.cleandoc(doc).splitlines() if isinstance(doc, str) else []
    return lines[0] if lines else ""


@click.command(short_help="Write the report of a run recorded in a state file.")
@click.option("--state", "state_path", type=click.Path(dir_okay=False, path_type=Path),
              default=DEFAULT_STATE_PATH, show_default=True, help="The state file.")
@click.option("--id", "identifier", required=True, metavar="IDENTIFIER",
              help="The process identifier whose last run to report.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              default=None, metavar="PATH",
              help="Where to write it (default: run-IDENTIFIER.html, or .json with "
                   "--format json).")
@click.option("-f", "--format", "fmt", type=click.Choice(REPORT_FORMATS), default=None,
              help="html or json (default: from the output's suffix, else html).")
@verbose_option
def report(state_path: Path, identifier: str, output: Path | None, fmt: str | None,
           verbose: bool) -> None:
    """Write the report of the last run of IDENTIFIER recorded in a state file.

    Runs with --state keep what they did (attempts, timings, errors) in the state file;
    this writes the same report as `run --report` did, after the fact.
    """
    with logging_to_stderr(verbose, None), reporting(verbose):
        if not state_path.exists():
            raise CliError(f"no state file at {state_path}")
        with contextlib.closing(open_state(state_path)) as store:
            record = load(store, identifier)
        if record is None:
            raise CliError(f"no run of '{identifier}' is recorded in {state_path}")
        path = output or Path(f"run-{identifier}.{fmt or 'html'}")
        written = save_report(record, path, fmt)
    click.echo(f"Report: {written}")
