"""The command line: ``tasktronaut run``, ``show`` and ``graph``, thin over the library.

A target is ``pkg.module.Name`` or ``path/to/file.py:Name`` and names either a
:class:`~tasktronaut.process.ProcessDefinition` subclass or an asset-task function. Values on
the command line are converted to the declared types by :mod:`tasktronaut.convert`.

Exit status: 0 when the target is ready, 1 when it is not (blocked, failed, cancelled, or the
workflow's own code raised while building), 2 on a usage error. Every error is one line on
stderr, ``Error: ...``; ``--verbose`` adds the traceback where there is one. Log lines and the
run summary go to stderr, graphs (``--graph``, ``graph``) to stdout.
"""

from __future__ import annotations

import contextlib
import inspect
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import click
from loguru import logger

from tasktronaut._version import __version__
from tasktronaut.cli import background
from tasktronaut.cli.config import (
    PYPROJECT_KEY,
    TargetCommand,
    add_envvars,
    default_map,
    source_of_option,
    stdout_to_stderr,
)
from tasktronaut.cli.convert import parse_assignments
from tasktronaut.cli.errors import CliError, OneLineGroup, describe, reporting
from tasktronaut.cli.observe import (
    display_for,
    level_of,
    logging_options,
    observers_for,
    run_context,
    run_logging,
)
from tasktronaut.cli.progress import Summary, logging_to_stderr
from tasktronaut.cli.report import FORMATS as REPORT_FORMATS
from tasktronaut.cli.report import write_report
from tasktronaut.cli.state import open_state, state
from tasktronaut.cli.state import state_path as state_path_of
from tasktronaut.cli.targets import build, is_process, load_module, load_target
from tasktronaut.cli.why import why
from tasktronaut.define.decorators import TaskFunction, tasknames
from tasktronaut.engine.facts import RunFacts, RunRecord, load
from tasktronaut.errors import ArgumentError
from tasktronaut.model.node import Node
from tasktronaut.model.report import to_dot, to_json, to_mermaid
from tasktronaut.state import DEFAULT_STATE_PATH
from tasktronaut.workers import DaskExecutor

EXAMPLES = """\b
Examples:
  tasktronaut run examples/teatime.py:a_cup_of_tea teatime
  tasktronaut run mypkg.flows.Ingest --arg files='["a.csv", "b.csv"]' --option notify=true -t 4
  tasktronaut run mypkg.flows.Ingest --arg day=2024-05-01 --id nightly --dry-run
  tasktronaut show examples/teatime.py
  tasktronaut graph examples/teatime.py:a_cup_of_tea teatime --format mermaid
"""
GRAPH_FORMATS = {"dot": to_dot, "mermaid": to_mermaid, "json": to_json}
MAX_THREADS = 1024
MAX_PROCESSES = 256


@click.group(cls=OneLineGroup, epilog=EXAMPLES,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="tasktronaut")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Run tasktronaut workflows: processes and asset tasks.

    A TARGET is pkg.module.Name or path/to/file.py:Name and names a process (a
    ProcessDefinition subclass) or an asset task (a @task, @collection or @external
    function). Values are read as JSON when they are JSON, as plain strings otherwise, and
    converted to the types the process or function declares.

    Every option may also be set by the environment variable TASKTRONAUT_<OPTION>
    (TASKTRONAUT_THREADS=4) or in the [tool.tasktronaut] table of the nearest
    pyproject.toml; the command line wins, then the environment.

    Exit status: 0 when the target is ready, 1 when it is not, 2 on a usage error,
    130 or 143 when Ctrl-C or SIGTERM stopped the run.
    """
    if ctx.resilient_parsing:
        return
    defaults, path = default_map(cli, Path.cwd())
    ctx.meta[PYPROJECT_KEY] = path
    if defaults:
        ctx.default_map = defaults


_arg_option = click.option(
    "--arg", "arg_items", multiple=True, metavar="NAME=VALUE",
    help="A named argument (repeatable); for processes and tasks alike.",
)
_option_option = click.option(
    "--option", "option_items", multiple=True, metavar="NAME=VALUE",
    help="A process option, read by builder.option() (repeatable; processes only).",
)
_id_option = click.option(
    "--id", "identifier", metavar="IDENTIFIER", help="The process identifier (processes only).",
)
_verbose_option = click.option(
    "-v", "--verbose", is_flag=True, help="Log debug messages; show tracebacks of errors.",
)


@cli.command(cls=TargetCommand, epilog=EXAMPLES, short_help="Run a process or an asset task.")
@click.argument("target")
@click.argument("args", nargs=-1)
@_arg_option
@_option_option
@_id_option
@click.option("-t", "--threads", type=int, default=1, show_default=True, metavar="N",
              help="Worker threads.")
@click.option("-p", "--processes", type=int, default=0, metavar="N",
              help="Run actions in N worker processes (tasks marked executor='thread' "
                   "stay on threads).")
@click.option("--dask", "dask_address", metavar="ADDRESS",
              help="Run actions on a Dask cluster: a scheduler address (tcp://host:8786), or "
                   "'local' to start a LocalCluster on this machine for the run.")
@click.option("-d", "--dry-run", is_flag=True, help="Report what would run; run no action.")
@click.option("-g", "--graph", "show_graph", is_flag=True,
              help="After the run, print the graph on stdout (as --format says; what steps "
                   "print goes to stderr meanwhile).")
@click.option("-f", "--format", "graph_format", type=click.Choice(sorted(GRAPH_FORMATS)),
              default="dot", show_default=True, help="The format of --graph.")
@click.option("--state", "state_value", metavar="PATH",
              help="Record completed process steps in this state file and resume from it "
                   "(needs --id).")
@click.option("--resume", is_flag=True,
              help=f"Same as --state {DEFAULT_STATE_PATH} (needs --id).")
@click.option("--restart", is_flag=True,
              help="Forget what the state file recorded for --id and start over (needed to "
                   "run an identifier again with other arguments).")
@click.option("--force", "force", multiple=True, metavar="NAME",
              help="Treat the task or step NAME as not ready for this run (repeatable); "
                   "nothing is deleted.")
@click.option("--force-downstream", "force_downstream", multiple=True, metavar="NAME",
              help="Treat NAME and everything that requires it as not ready (repeatable).")
@click.option("--resource", "resource_items", multiple=True, metavar="NAME=N",
              help="How much of a named resource the run has, e.g. db=2 (repeatable): never "
                   "more held by running tasks than that.")
@click.option("--async-limit", type=int, default=100, show_default=True, metavar="N",
              help="Async actions running at once on the run's event loop.")
@_verbose_option
@logging_options
@click.pass_context
def run(ctx: click.Context, target: str, args: tuple[str, ...], arg_items: tuple[str, ...],
        option_items: tuple[str, ...], identifier: str | None, threads: int, processes: int,
        dask_address: str | None, dry_run: bool, show_graph: bool, graph_format: str,
        state_value: str | None, resume: bool, restart: bool, force: tuple[str, ...],
        force_downstream: tuple[str, ...], resource_items: tuple[str, ...],
        async_limit: int, verbose: bool, quiet: bool, log_level: str | None, log_format: str,
        log_file: Path | None, report_path: Path | None, otel: bool) -> None:
    """Run TARGET (a process or an asset task) with positional ARGS and --arg values.

    Runs only what is not ready yet, logs to stderr (with a live display on a terminal)
    and ends with a summary: what failed, what is blocked and by what, the slowest steps.
    Exit status: 0 when TARGET is ready, 1 when it is not, 2 on a usage error,
    130 or 143 when Ctrl-C or SIGTERM stopped it.
    """
    state_path = state_path_of(state_value)
    if resume and state_path is None:
        state_path = DEFAULT_STATE_PATH
    display = display_for(sys.stderr, quiet, log_format)
    level = level_of(verbose, quiet, log_level)
    # stdout goes to stderr first, so that the display keeps step output above it there.
    with stdout_to_stderr(show_graph), run_logging(level, log_format, log_file, display), \
            reporting(verbose):
        _check_options(ctx, threads, processes, dask_address, report_path)
        resources = parse_resources(resource_items)
        root = build(load_target(target), args, arg_items, option_items, identifier)
        facts = RunFacts()
        store = open_state(state_path) if state_path is not None else None
        with run_context(facts, root), \
                contextlib.closing(store) if store is not None else contextlib.nullcontext():
            root, record, seconds = _run(root, facts, observers_for(facts, display, otel),
                                         dask_address, threads=threads, processes=processes,
                                         dry_run=dry_run, state=store, resources=resources,
                                         async_limit=async_limit,
                                         **_extra_settings(restart, force, force_downstream))
            _summarise(root, record, seconds, verbose, report_path)
    if show_graph:
        click.echo(GRAPH_FORMATS[graph_format](root))
    if root.interrupted is not None:
        ctx.exit(128 + root.interrupted)
    ctx.exit(0 if root.ready else 1)


def check_workers(ctx: click.Context, threads: int, processes: int) -> None:
    """Refuse worker counts below one thread, or absurdly many threads or processes."""
    for name, value, low, high in (("threads", threads, 1, MAX_THREADS),
                                   ("processes", processes, 0, MAX_PROCESSES)):
        if not low <= value <= high:
            bound = f"at least {low}" if value < low else f"at most {high}"
            raise ArgumentError(f"--{name} must be {bound}, got {value}"
                                f"{source_of_option(ctx, name)}")


def _summarise(root: Node, record: RunRecord | None, seconds: float, verbose: bool,
               report_path: Path | None) -> None:
    """Log the run's summary and, with ``--report``, where its report was saved."""
    summary = Summary.of_record(record) if record is not None else Summary.of(root, seconds)
    for line in summary.lines(verbose):
        logger.info(line)
    if report_path is not None and record is not None:
        logger.info(f"Report: {save_report(record, report_path)}")


def _extra_settings(restart: bool, force: tuple[str, ...],
                    force_downstream: tuple[str, ...]) -> dict[str, Any]:
    """The run settings of ``--restart``, ``--force`` and ``--force-downstream`` (only those
    given, so that a plain run passes nothing new)."""
    given = {"restart": restart, "force": force, "force_downstream": force_downstream}
    return {name: value for name, value in given.items() if value}


def parse_resources(items: Sequence[str]) -> dict[str, int]:
    """``--resource db=2`` values as limits; a bad one is a usage error naming it."""
    limits = {}
    for name, text in parse_assignments(items, "--resource").items():
        try:
            amount = int(text)
        except ValueError:
            amount = -1
        if amount < 0 or not name:
            raise ArgumentError(f"--resource {name}={text}: the amount must be a whole "
                                "number >= 0", name="--resource", value=text)
        limits[name] = amount
    return limits


def _check_options(ctx: click.Context, threads: int, processes: int,
                   dask_address: str | None, report_path: Path | None) -> None:
    """Refuse what cannot work before anything runs: worker counts, --dask with
    --processes, a report whose folder cannot be made."""
    check_workers(ctx, threads, processes)
    if dask_address is not None and processes:
        raise ArgumentError("--dask and --processes cannot be combined: choose where "
                            "actions run")
    if report_path is not None:
        try:
            report_path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise CliError(f"cannot write the report {report_path}: {describe(e)}") from e


def _run(root: Node, facts: RunFacts, observers: list[Any], dask_address: str | None,
         **settings: Any) -> tuple[Node, RunRecord | None, float]:
    """Run ``root`` where the options say; return the root that ran, its record and the
    time it took."""
    # After build(): a file target's folder is on sys.path now, and a local cluster's
    # worker processes start with this sys.path, so they can import the target too.
    with dask_executor(dask_address, connect=not settings["dry_run"]) as dask:
        executor: Any = dask if dask is not None else (
            "process" if settings["processes"] else None)
        start = time.monotonic()
        root = root.run(executor=executor, observers=observers, **settings)
        seconds = time.monotonic() - start
    return root, root.run_record or facts.record, seconds


def save_report(record: RunRecord, path: Path, fmt: str | None = None) -> Path:
    """Write a run report; a path that cannot be written is one usage error."""
    try:
        return write_report(record, path, fmt)
    except OSError as e:
        raise CliError(f"cannot write the report {path}: {describe(e)}") from e


@contextlib.contextmanager
def dask_executor(address: str | None, connect: bool = True) -> Iterator[DaskExecutor | None]:
    """The :class:`DaskExecutor` for ``--dask ADDRESS`` (None without it), closed afterwards.

    With ``connect`` it connects (or starts the local cluster) right away, so that a bad
    address or a missing Dask is one usage error before anything runs, not a failed run.
    A dry run runs no action and does not need to connect.
    """
    if address is None:
        yield None
        return
    executor = DaskExecutor(address)
    try:
        if connect:
            try:
                _ = executor.client
            except Exception as e:
                where = "start a local Dask cluster" if address == "local" else \
                    f"connect to the Dask scheduler at {address}"
                raise CliError(f"cannot {where}: {describe(e)}") from e
        yield executor
    finally:
        executor.close()


@cli.command(cls=TargetCommand, epilog=EXAMPLES,
             short_help="Print the graph of a target; run nothing.")
@click.argument("target")
@click.argument("args", nargs=-1)
@_arg_option
@_option_option
@_id_option
@click.option("-f", "--format", "fmt", type=click.Choice(sorted(GRAPH_FORMATS)), default="dot",
              show_default=True, help="The output format.")
@_verbose_option
def graph(target: str, args: tuple[str, ...], arg_items: tuple[str, ...],
          option_items: tuple[str, ...], identifier: str | None, fmt: str,
          verbose: bool) -> None:
    """Print the graph of TARGET on stdout without running anything.

    Nodes are coloured by readiness: what is ready already, and what a run would do.
    """
    with logging_to_stderr(verbose, None), reporting(verbose), stdout_to_stderr(True):
        root = build(load_target(target), args, arg_items, option_items, identifier)
        text = GRAPH_FORMATS[fmt](root)
    click.echo(text)


@cli.command(epilog=EXAMPLES, short_help="List the tasks and processes of a module.")
@click.argument("module")
@_verbose_option
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


def main(argv: Sequence[str] | None = None) -> None:
    """The console script: ``tasktronaut``."""
    try:
        code = cli.main(args=argv, prog_name="tasktronaut", standalone_mode=False)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except (KeyboardInterrupt, click.exceptions.Abort):
        click.echo("Aborted: interrupted twice", err=True)
        sys.exit(128 + signal.SIGINT)
    sys.exit(code if isinstance(code, int) else 0)


@cli.command(short_help="Write the report of a run recorded in a state file.")
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
@_verbose_option
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


cli.add_command(state)
cli.add_command(background.submit)
cli.add_command(background.status)
cli.add_command(background.wait)
cli.add_command(background.cancel)
cli.add_command(background.runs)
cli.add_command(background.worker)
cli.add_command(background.schedule)
add_envvars(cli)
cli.add_command(why)
