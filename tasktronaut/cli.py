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
import importlib
import importlib.util
import inspect
import os
import signal
import sys
import threading
import time
import traceback
import typing
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import IO, Any

import attrs
import click
from loguru import logger

from tasktronaut._version import __version__
from tasktronaut.cli_state import state
from tasktronaut.convert import convert_arguments, convert_call, parse_assignments, parse_value
from tasktronaut.decorators import TaskFunction, tasknames
from tasktronaut.errors import ArgumentError, TasktronautError
from tasktronaut.graph import Node, NodeKind, NodeStatus, traverse
from tasktronaut.logs import logcfg
from tasktronaut.report import to_dot, to_json, to_mermaid
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
_EXECUTING = ": Executing"
_ACTIONS = (NodeKind.TASK, NodeKind.STEP)


class CliError(click.ClickException):
    """A usage error, shown as one line (``Error: <message>``); exit status 2."""

    exit_code = 2


class WorkflowError(CliError):
    """The workflow's own code raised before or outside its tasks; exit status 1."""

    exit_code = 1


class _Group(click.Group):
    """Shows click's own usage errors (unknown option, missing argument) on one line too."""

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        with _one_line_usage_errors():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        with _one_line_usage_errors():
            return super().invoke(ctx)


# click >= 8.2 shows the help for a bare command as an error; that one stays as it is.
_HELP_ERRORS: tuple[type[BaseException], ...] = tuple(
    e for e in (getattr(click.exceptions, "NoArgsIsHelpError", None),) if isinstance(e, type)
)


@contextlib.contextmanager
def _one_line_usage_errors() -> Iterator[None]:
    try:
        yield
    except _HELP_ERRORS:
        raise
    except click.UsageError as e:
        where = e.ctx.command_path if e.ctx is not None else "tasktronaut"
        message = e.format_message().strip()
        if not message.endswith((".", "?", "!")):
            message += "."
        raise CliError(f"{message} See '{where} --help'.") from None


@click.group(cls=_Group, epilog=EXAMPLES,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="tasktronaut")
def cli() -> None:
    """Run tasktronaut workflows: processes and asset tasks.

    A TARGET is pkg.module.Name or path/to/file.py:Name and names a process (a
    ProcessDefinition subclass) or an asset task (a @task, @collection or @external
    function). Values are read as JSON when they are JSON, as plain strings otherwise, and
    converted to the types the process or function declares.

    Exit status: 0 when the target is ready, 1 when it is not, 2 on a usage error,
    130 or 143 when Ctrl-C or SIGTERM stopped the run.
    """


# -- targets ----------------------------------------------------------------------------------


@attrs.frozen
class Target:
    """What a TARGET names: a process class or an asset-task function."""

    spec: str
    obj: Any
    is_process: bool


def load_module(spec: str) -> ModuleType:
    """Import ``pkg.module`` or the file ``path/to/file.py`` (its folder goes on sys.path)."""
    if spec.endswith(".py") or "/" in spec or os.sep in spec:
        return _import_file(spec)
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.append(os.getcwd())
    try:
        return importlib.import_module(spec)
    except ModuleNotFoundError as e:
        if e.name and (spec == e.name or spec.startswith(e.name + ".")):
            raise CliError(f"no module named '{spec}'") from e
        raise _import_failed(spec, e) from e
    except Exception as e:
        raise _import_failed(spec, e) from e


def _import_file(spec: str) -> ModuleType:
    path = Path(spec)
    if not path.is_file():
        raise CliError(f"no such file: {spec}")
    resolved = path.resolve()
    folder = str(resolved.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    name = path.stem
    known = sys.modules.get(name)
    if known is not None and getattr(known, "__file__", None) and \
            Path(str(known.__file__)).resolve() == resolved:
        return known
    module_spec = importlib.util.spec_from_file_location(name, resolved)
    if module_spec is None or module_spec.loader is None:
        raise CliError(f"cannot import {spec}: not a Python module")
    module = importlib.util.module_from_spec(module_spec)
    register = known is None
    if register:
        sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    except Exception as e:
        if register:
            sys.modules.pop(name, None)
        raise _import_failed(spec, e) from e
    return module


def _import_failed(spec: str, error: BaseException) -> CliError:
    return CliError(f"importing {spec} failed: {_describe(error)}")


def load_target(spec: str) -> Target:
    """Find the process or asset task that ``spec`` names; raise :class:`CliError` if none."""
    module_spec, sep, name = spec.rpartition(":")
    if not sep:
        module_spec, _, name = spec.rpartition(".")
    if spec.endswith(".py") or not module_spec or not name.isidentifier():
        raise CliError(
            f"target must be pkg.module.Name or path/to/file.py:Name, got {spec!r}"
        )
    module = load_module(module_spec)
    try:
        obj = getattr(module, name)
    except AttributeError:
        raise CliError(
            f"{module_spec} has no task or process named '{name}' "
            f"(see 'tasktronaut show {module_spec}')"
        ) from None
    if isinstance(obj, TaskFunction):
        return Target(spec, obj, is_process=False)
    if _is_process(obj):
        return Target(spec, obj, is_process=True)
    raise CliError(
        f"{spec} is neither a process nor a task (it is {_kind_of(obj)})"
    )


def _process_base() -> type | None:
    try:
        from tasktronaut.process import ProcessDefinition
    except ImportError:  # pragma: no cover - only while processes are not installed
        return None
    return ProcessDefinition


def _is_process(obj: Any) -> bool:
    base = _process_base()
    return base is not None and isinstance(obj, type) and issubclass(obj, base) and obj is not base


def _kind_of(obj: Any) -> str:
    if isinstance(obj, type):
        return f"the class {obj.__name__}"
    if callable(obj):
        return f"a plain {type(obj).__name__}, not decorated with @task"
    return f"a {type(obj).__name__}"


# -- arguments and building ---------------------------------------------------------------------


def build(target: Target, args: Sequence[str], arg_items: Sequence[str],
          option_items: Sequence[str], identifier: str | None) -> Node:
    """Convert the command-line values and build the target's graph; nothing runs."""
    named = parse_assignments(arg_items, "--arg")
    options = {k: parse_value(v) for k, v in parse_assignments(option_items, "--option").items()}
    if target.is_process:
        if args:
            raise ArgumentError(
                f"a process takes --arg NAME=VALUE, not positional arguments (got {args[0]!r})"
            )
        kwargs = convert_arguments(named, target.obj.expected_types(options))
        return typing.cast(Node, target.obj.build(identifier, options, **kwargs))
    if option_items or identifier is not None:
        flag = "--option" if option_items else "--id"
        raise ArgumentError(f"{flag} applies to processes only; {target.spec} is a task")
    call_args, call_kwargs = convert_call(target.obj.func, args, named, target.spec)
    return typing.cast(Node, target.obj.build(*call_args, **call_kwargs))


# -- running, progress and summary ---------------------------------------------------------------


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


# -- error reporting ---------------------------------------------------------------------------


def _describe(error: BaseException) -> str:
    """One line for an exception: its message, prefixed by its type unless ours."""
    lines = str(error).strip().splitlines()
    text = lines[0] if lines else ""
    if isinstance(error, TasktronautError) and text:
        return text
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


@contextlib.contextmanager
def reporting(verbose: bool) -> Iterator[None]:
    """Turn errors into one-line :class:`CliError` s (tracebacks only when verbose).

    Our own validation errors (:class:`ArgumentError`, bad targets) are usage errors, exit 2;
    anything else raised by the workflow's code is a failure of the workflow, exit 1.
    """
    try:
        yield
    except click.ClickException as e:
        if verbose and e.__cause__ is not None:
            traceback.print_exception(e.__cause__, file=sys.stderr)
        raise
    except ArgumentError as e:
        if verbose:
            traceback.print_exception(e, file=sys.stderr)
        raise CliError(_describe(e)) from e
    except Exception as e:
        if verbose:
            traceback.print_exception(e, file=sys.stderr)
        raise WorkflowError(_describe(e)) from e


# -- commands ------------------------------------------------------------------------------------

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


@cli.command(epilog=EXAMPLES, short_help="Run a process or an asset task.")
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
              help="After the run, print the graph as Graphviz DOT on stdout.")
@click.option("--state", "state_path", type=click.Path(dir_okay=False, path_type=Path),
              metavar="PATH",
              help="Record completed process steps in this state file and resume from it "
                   "(needs --id).")
@click.option("--resume", is_flag=True,
              help=f"Same as --state {DEFAULT_STATE_PATH} (needs --id).")
@_verbose_option
@click.pass_context
def run(ctx: click.Context, target: str, args: tuple[str, ...], arg_items: tuple[str, ...],
        option_items: tuple[str, ...], identifier: str | None, threads: int, processes: int,
        dask_address: str | None, dry_run: bool, show_graph: bool, state_path: Path | None,
        resume: bool, verbose: bool) -> None:
    """Run TARGET (a process or an asset task) with positional ARGS and --arg values.

    Runs only what is not ready yet, logs to stderr and ends with a summary.
    Exit status: 0 when TARGET is ready, 1 when it is not, 2 on a usage error,
    130 or 143 when Ctrl-C or SIGTERM stopped it.
    """
    if resume and state_path is None:
        state_path = DEFAULT_STATE_PATH
    stream = sys.stderr
    progress = Progress(stream if interactive(stream) else None)
    with logging_to_stderr(verbose, progress), reporting(verbose):
        if threads < 1:
            raise ArgumentError(f"--threads must be at least 1, got {threads}")
        if processes < 0:
            raise ArgumentError(f"--processes must be at least 0, got {processes}")
        if dask_address is not None and processes:
            raise ArgumentError("--dask and --processes cannot be combined: choose where "
                                "actions run")
        root = build(load_target(target), args, arg_items, option_items, identifier)
        progress.start(root)
        # After build(): a file target's folder is on sys.path now, and a local cluster's
        # worker processes start with this sys.path, so they can import the target too.
        with dask_executor(dask_address, connect=not dry_run) as executor:
            start = time.monotonic()
            root = root.run(threads=threads, processes=processes,
                            executor=executor if executor is not None else
                            ("process" if processes else None),
                            dry_run=dry_run, listener=progress.listener, state=state_path)
            seconds = time.monotonic() - start
    for line in Summary.of(root, seconds).lines():
        logger.info(line)
    if show_graph:
        click.echo(to_dot(root))
    if root.interrupted is not None:
        ctx.exit(128 + root.interrupted)
    ctx.exit(0 if root.ready else 1)


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
                raise CliError(f"cannot {where}: {_describe(e)}") from e
        yield executor
    finally:
        executor.close()


@cli.command(epilog=EXAMPLES, short_help="Print the graph of a target; run nothing.")
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
    with logging_to_stderr(verbose, None), reporting(verbose):
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
    base = _process_base()
    processes = sorted(
        (name, obj) for name, obj in vars(module).items()
        if not name.startswith("_") and _is_process(obj) and obj.__module__ == module.__name__
    ) if base is not None else []
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


cli.add_command(state)
