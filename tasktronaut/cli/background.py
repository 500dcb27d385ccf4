"""``tasktronaut submit``, ``status``, ``wait``, ``cancel``, ``runs``, ``worker`` and
``schedule``: background runs from the command line (see :mod:`tasktronaut.background`).

Every command works on the embedded queue in ``--state`` (default ``.tasktronaut/state.db``)
or, with ``--rq URL``, on an RQ queue in Redis.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import click

from tasktronaut.cli.config import state_path
from tasktronaut.cli.errors import CliError, reporting
from tasktronaut.cli.progress import logging_to_stderr
from tasktronaut.cli.state import open_state
from tasktronaut.cli.targets import build, load_target
from tasktronaut.state import DEFAULT_STATE_PATH, StateError

if TYPE_CHECKING:  # tasktronaut.background is imported when a command runs, not at start-up
    from tasktronaut.background import QueuedRun, Worker
    from tasktronaut.background.targets import Call

STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
"""The values of :class:`tasktronaut.background.Status`, for ``runs --status``."""

_state = click.option("--state", "state_value", default=str(DEFAULT_STATE_PATH),
                      show_default=True, metavar="PATH", help="The state file of the queue.")
_rq = click.option("--rq", "rq_url", metavar="URL",
                   help="Use the RQ queue in the Redis server at URL (redis://host:port/0).")
_verbose = click.option("-v", "--verbose", is_flag=True,
                        help="Log debug messages; show tracebacks of errors.")
_args = click.option("--arg", "arg_items", multiple=True, metavar="NAME=VALUE",
                     help="A named argument (repeatable).")
_options = click.option("--option", "option_items", multiple=True, metavar="NAME=VALUE",
                        help="A process option (repeatable; processes only).")


@contextlib.contextmanager
def _backend(state_value: str, rq_url: str | None, create: bool = False) -> Iterator[Any]:
    """The queue the options name; problems with it are one error line."""
    if rq_url is not None:
        from tasktronaut.background.rq import RQBackend

        yield RQBackend(rq_url)
        return
    path = state_path(state_value)
    assert path is not None
    if not create and not path.exists():
        raise CliError(f"no state file at {path}")
    from tasktronaut.background import SQLiteQueue

    queue = SQLiteQueue(open_state(path))
    try:
        yield queue
    except StateError as e:
        raise CliError(str(e)) from e
    finally:
        queue.close()


def _call(target: str, args: tuple[str, ...], arg_items: tuple[str, ...],
          option_items: tuple[str, ...], identifier: str | None) -> Call:
    """Check and convert the values by building the target here, and name the target so
    that a worker in another folder finds it too."""
    loaded = load_target(target)
    root = build(loaded, args, arg_items, option_items, identifier)
    from tasktronaut.background.targets import call_of

    call = call_of(root, (), {}, None)
    module, _, name = target.rpartition(":") if ":" in target else target.rpartition(".")
    if module.endswith(".py") or os.sep in module:
        module = str(Path(module).resolve())
    return attrs.evolve(call, target=f"{module}:{name}")


def _schedules() -> Any:
    from tasktronaut.background import schedules

    return schedules


def _record(backend: Any, identifier: str) -> QueuedRun:
    found = backend.get(identifier)
    if found is None:
        raise CliError(f"no background run '{identifier}'")
    return found  # type: ignore[no-any-return]


def _when(moment: float | None) -> str:
    if moment is None:
        return "-"
    return datetime.fromtimestamp(moment).strftime("%Y-%m-%d %H:%M:%S")


def _line(record: QueuedRun) -> str:
    text = f"{record.id}  {record.status.value:<9}  {record.call.target}  " \
           f"submitted {_when(record.submitted)}"
    if record.finished is not None:
        text += f"  finished {_when(record.finished)}"
    if record.error:
        text += f"  error: {record.error}"
    return text


@click.command(short_help="Queue a run of a process or task; print its id.")
@click.argument("target")
@click.argument("args", nargs=-1)
@_args
@_options
@click.option("--id", "identifier", metavar="IDENTIFIER",
              help="The run's identifier (default: a new one); a process's identifier.")
@click.option("-t", "--threads", type=int, default=1, show_default=True, metavar="N",
              help="Threads the worker runs it with.")
@_state
@_rq
@_verbose
def submit(target: str, args: tuple[str, ...], arg_items: tuple[str, ...],
           option_items: tuple[str, ...], identifier: str | None, threads: int,
           state_value: str, rq_url: str | None, verbose: bool) -> None:
    """Queue a run of TARGET and print its id at once; a worker runs it."""
    with reporting(verbose):
        if threads < 1:
            raise CliError(f"--threads must be at least 1, got {threads}")
        call = _call(target, args, arg_items, option_items, identifier)
        with _backend(state_value, rq_url, create=True) as backend:
            settings = {"threads": threads} if threads != 1 else {}
            click.echo(backend.submit(call, identifier, settings))


@click.command(short_help="Show where a background run stands.")
@click.argument("identifier")
@_state
@_rq
def status(identifier: str, state_value: str, rq_url: str | None) -> None:
    """Print the status line of run IDENTIFIER (exit 0 if it succeeded, 1 if not yet or
    not)."""
    with _backend(state_value, rq_url) as backend:
        record = _record(backend, identifier)
        click.echo(_line(record))
        for step in backend.steps(identifier):
            click.echo(f"  done: {step}")
    raise SystemExit(0 if record.status.value == "succeeded" else 1)


@click.command(short_help="Wait for a background run to end.")
@click.argument("identifier")
@click.option("--timeout", type=float, metavar="SECONDS", help="Give up after this long.")
@_state
@_rq
def wait(identifier: str, timeout: float | None, state_value: str, rq_url: str | None) -> None:
    """Wait for run IDENTIFIER; print how it ended (exit 0 if it succeeded, 1 otherwise)."""
    with _backend(state_value, rq_url) as backend:
        _record(backend, identifier)
        try:
            from tasktronaut.background import RunHandle

            ended = RunHandle(backend, identifier).wait(timeout)
        except TimeoutError as e:
            raise CliError(str(e)) from e
        click.echo(_line(_record(backend, identifier)))
    raise SystemExit(0 if ended.value == "succeeded" else 1)


@click.command(short_help="Cancel a background run.")
@click.argument("identifier")
@_state
@_rq
def cancel(identifier: str, state_value: str, rq_url: str | None) -> None:
    """Cancel run IDENTIFIER: a queued run at once, a running one by its worker."""
    with _backend(state_value, rq_url) as backend:
        _record(backend, identifier)
        record = backend.request_cancel(identifier)
        click.echo(f"{identifier}: {record.status.value}, cancel requested")


@click.command(short_help="List background runs.")
@click.option("--status", "wanted", type=click.Choice(STATUSES),
              help="Only runs with this status.")
@_state
def runs(wanted: str | None, state_value: str) -> None:
    """List the runs of the queue, oldest first."""
    with _backend(state_value, None) as backend:
        for record in backend.runs(wanted):
            click.echo(_line(record))


@click.command(short_help="Run queued runs (and schedules) until stopped.")
@click.option("-c", "--concurrency", type=int, default=1, show_default=True, metavar="N",
              help="Runs at once.")
@click.option("--poll", type=float, default=0.5, show_default=True, metavar="SECONDS",
              help="Seconds between looks at an idle queue.")
@click.option("--grace", type=float, default=10.0, show_default=True, metavar="SECONDS",
              help="On SIGTERM or Ctrl-C, how long running runs may go on to finish before "
                   "they are handed back to the queue (a second signal: at once).")
@click.option("--burst", is_flag=True, help="Stop once the queue is empty.")
@_state
@_rq
@_verbose
def worker(concurrency: int, poll: float, grace: float, burst: bool, state_value: str,
           rq_url: str | None, verbose: bool) -> None:
    """Take runs from the queue and run them, CONCURRENCY at a time, until SIGTERM."""
    with logging_to_stderr(verbose, None), reporting(verbose):
        if concurrency < 1:
            raise CliError(f"--concurrency must be at least 1, got {concurrency}")
        if rq_url is not None:
            if concurrency != 1:
                raise CliError("--concurrency applies to the embedded queue; with --rq, start "
                               "one worker per run at a time")
            from tasktronaut.background.rq import work

            work(rq_url, burst=burst)
            return
        with _backend(state_value, None, create=True) as queue:
            from tasktronaut.background import Worker

            serve(Worker(queue, concurrency=concurrency, poll=poll, grace=grace), burst)


def serve(server: Worker, burst: bool) -> None:
    """Run ``server`` in this thread until the queue is empty (``burst``) or a SIGTERM or
    SIGINT; then hand back what is still running after the grace period and exit."""

    try:
        err = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # a stand-in stream (a test runner's)
        err = 2

    def stop(signum: int, _frame: Any) -> None:
        # No locks here (the interrupted code may hold one): the worker only counts, and
        # the line goes straight to the file descriptor, not through sys.stderr's buffer.
        name = signal.Signals(signum).name
        if server.signal_stop() > 1:
            line = f"worker: {name} again: handing back what runs now\n"
        else:
            line = f"worker: {name}: starting nothing new (again to hand back now)\n"
        os.write(err, line.encode())

    # The handlers stay through the grace period: a second signal ends it, never the process.
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.run(until_idle=burst)
        handed = server.stop()
        if handed:
            server.release_run_leases()
            click.echo(f"worker: handed back {', '.join(handed)}", err=True)
            sys.stderr.flush()
            os._exit(0)  # runs still in threads of this process end with it
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@click.group(short_help="Add, list and remove schedules that workers follow.")
def schedule() -> None:
    """Schedules: runs that workers submit every N seconds, on a cron expression, or once."""


@schedule.command("add")
@click.argument("name")
@click.argument("target")
@click.argument("args", nargs=-1)
@_args
@_options
@click.option("--every", type=float, metavar="SECONDS", help="Fire every SECONDS.")
@click.option("--cron", metavar="EXPRESSION", help="Fire on a cron expression ('0 2 * * *').")
@click.option("--at", "at_text", metavar="TIME", help="Fire once at an ISO time.")
@click.option("--catch-up", is_flag=True, help="Submit fires missed while no worker ran.")
@_state
@_verbose
def schedule_add(name: str, target: str, args: tuple[str, ...], arg_items: tuple[str, ...],
                 option_items: tuple[str, ...], every: float | None, cron: str | None,
                 at_text: str | None, catch_up: bool, state_value: str, verbose: bool) -> None:
    """Add (or replace) schedule NAME, running TARGET with ARGS and --arg values."""
    with reporting(verbose):
        at = None
        if at_text is not None:
            try:
                at = datetime.fromisoformat(at_text)
            except ValueError:
                raise CliError(f"--at must be an ISO time such as 2030-01-31T02:00, got "
                               f"{at_text!r}") from None
        call = _call(target, args, arg_items, option_items, None)
        with _backend(state_value, None, create=True) as queue:
            added = _schedules().add(queue, name, call, {}, every=every, cron=cron, at=at,
                                  catch_up=catch_up)
        click.echo(f"{added.name}: {added.describe()}, next {_when(added.next_due)}")


@schedule.command("list")
@_state
def schedule_list(state_value: str) -> None:
    """List the schedules with their next due time."""
    with _backend(state_value, None) as queue:
        for item in _schedules().listing(queue):
            click.echo(f"{item.name}  {item.call.target}  {item.describe()}  "
                       f"next {_when(item.next_due)}")


@schedule.command("remove")
@click.argument("name")
@_state
def schedule_remove(name: str, state_value: str) -> None:
    """Remove schedule NAME (the runs it submitted stay)."""
    with _backend(state_value, None) as queue:
        if not _schedules().remove(queue, name):
            raise CliError(f"no schedule named '{name}'")
        click.echo(f"removed schedule {name}")
