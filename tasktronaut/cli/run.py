"""``tasktronaut run``: run a process or an asset task, log what happens, end with a summary.

What only some runs need (a state file, a report, Dask, the process builder, OpenTelemetry)
is imported when the options ask for it.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tasktronaut.cli.config import (
    EXAMPLES,
    GRAPH_FORMATS,
    TargetCommand,
    arg_option,
    id_option,
    option_option,
    render_graph,
    source_of_option,
    stdout_to_stderr,
    verbose_option,
)
from tasktronaut.cli.config import (
    state_path as state_path_of,
)
from tasktronaut.cli.convert import parse_assignments
from tasktronaut.cli.errors import CliError, describe, reporting
from tasktronaut.cli.observe import (
    RunSinks,
    display_for,
    level_of,
    logging_options,
    observers_for,
    run_context,
    run_logging,
)
from tasktronaut.cli.summary import Summary
from tasktronaut.cli.targets import build, load_target
from tasktronaut.engine.facts import RunFacts, RunRecord
from tasktronaut.errors import ArgumentError
from tasktronaut.logs import default_target
from tasktronaut.model.node import Node
from tasktronaut.state import DEFAULT_STATE_PATH

if TYPE_CHECKING:
    from tasktronaut.workers import DaskExecutor

MAX_THREADS = 1024
MAX_PROCESSES = 256


@click.command(cls=TargetCommand, epilog=EXAMPLES, short_help="Run a process or an asset task.")
@click.argument("target")
@click.argument("args", nargs=-1)
@arg_option
@option_option
@id_option
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
@verbose_option
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
    with stdout_to_stderr(show_graph), run_logging(level, log_format, log_file, display) as \
            sinks, reporting(verbose):
        _check_options(ctx, threads, processes, dask_address, report_path)
        resources = parse_resources(resource_items)
        root = _build(sinks, target, args, arg_items, option_items, identifier)
        facts = RunFacts()
        store = _open_state(state_path)
        with run_context(facts, root), \
                contextlib.closing(store) if store is not None else contextlib.nullcontext():
            root, record, seconds = _run(root, facts, observers_for(facts, display, otel),
                                         dask_address, threads=threads, processes=processes,
                                         dry_run=dry_run, state=store, resources=resources,
                                         async_limit=async_limit,
                                         **_extra_settings(restart, force, force_downstream))
            _summarise(root, record, seconds, verbose, report_path)
    if show_graph:
        click.echo(render_graph(graph_format, root))
    if root.interrupted is not None:
        ctx.exit(128 + root.interrupted)
    ctx.exit(0 if root.ready else 1)


def _build(sinks: RunSinks, target: str, args: Sequence[str], arg_items: Sequence[str],
           option_items: Sequence[str], identifier: str | None) -> Node:
    """Import the target, settle where the records go, then build its graph."""
    loaded = load_target(target)
    sinks.settle()
    return build(loaded, args, arg_items, option_items, identifier)


def _open_state(path: Path | None) -> Any:
    """The state store of ``--state``/``--resume`` (None without)."""
    if path is None:
        return None
    from tasktronaut.cli.state import open_state

    return open_state(path)


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
    log = default_target()  # wherever the run's own records went
    for line in summary.lines(verbose):
        log.info(line)
    if report_path is not None and record is not None:
        from tasktronaut.cli.report import save_report

        log.info(f"Report: {save_report(record, report_path)}")


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
    from tasktronaut import workers

    executor = workers.DaskExecutor(address)
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
