"""The command line: ``tasktronaut run``, ``show``, ``graph`` and the rest, thin over the library.

A target is ``pkg.module.Name`` or ``path/to/file.py:Name`` and names either a
:class:`~tasktronaut.process.ProcessDefinition` subclass or an asset-task function. Values on
the command line are converted to the declared types by :mod:`tasktronaut.convert`.

Exit status: 0 when the target is ready, 1 when it is not (blocked, failed, cancelled, or the
workflow's own code raised while building), 2 on a usage error. Every error is one line on
stderr, ``Error: ...``; ``--verbose`` adds the traceback where there is one. Log lines and the
run summary go to stderr, graphs (``--graph``, ``graph``) to stdout.

Each command lives in its own module, imported when the command is used (``--version`` and
``--help`` of one command load no other), so that a short command starts fast.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from tasktronaut._version import __version__
from tasktronaut.cli.config import EXAMPLES, PYPROJECT_KEY, LazyGroup, default_map

COMMANDS = {
    "run": "tasktronaut.cli.run:run",
    "graph": "tasktronaut.cli.look:graph",
    "show": "tasktronaut.cli.look:show",
    "report": "tasktronaut.cli.look:report",
    "why": "tasktronaut.cli.why:why",
    "state": "tasktronaut.cli.state:state",
    **{name: f"tasktronaut.cli.background:{name}"
       for name in ("submit", "status", "wait", "cancel", "runs", "worker", "schedule")},
}
"""Where each command is defined, ``module:attribute``; imported when the command is used."""


@click.group(cls=LazyGroup, lazy=COMMANDS, epilog=EXAMPLES,
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
    defaults, path = default_map(cli, Path.cwd(), ctx.invoked_subcommand)
    ctx.meta[PYPROJECT_KEY] = path
    if defaults:
        ctx.default_map = defaults


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
