"""``tasktronaut why``: say, per node, why a run would run it, wait for it or skip it.

Nothing runs and nothing is written: the graph is built, the state file (if any) is read,
and one line per node gives its reason, in iotaa's readiness-line shape.
"""

from __future__ import annotations

import click

from tasktronaut.cli.config import state_path
from tasktronaut.cli.errors import reporting
from tasktronaut.cli.progress import logging_to_stderr
from tasktronaut.cli.state import open_state
from tasktronaut.cli.targets import build, load_target
from tasktronaut.engine import why as explain
from tasktronaut.state import DEFAULT_STATE_PATH

EXAMPLES = """\b
Examples:
  tasktronaut why examples/teatime.py:a_cup_of_tea teatime
  tasktronaut why mypkg.flows.Ingest --arg day=2024-05-01 --id nightly --resume
  tasktronaut why examples/teatime.py:a_cup_of_tea teatime --force-downstream "The cup"
"""


@click.command(epilog=EXAMPLES, short_help="Say why each task would run or wait; run nothing.")
@click.argument("target")
@click.argument("args", nargs=-1)
@click.option("--arg", "arg_items", multiple=True, metavar="NAME=VALUE",
              help="A named argument (repeatable).")
@click.option("--option", "option_items", multiple=True, metavar="NAME=VALUE",
              help="A process option (repeatable; processes only).")
@click.option("--id", "identifier", metavar="IDENTIFIER",
              help="The process identifier (processes only).")
@click.option("--state", "state_value", metavar="PATH",
              help="Read what this state file recorded (nothing is written to it).")
@click.option("--resume", is_flag=True, help=f"Same as --state {DEFAULT_STATE_PATH}.")
@click.option("--force", multiple=True, metavar="NAME", help="As for run: a forced node.")
@click.option("--force-downstream", multiple=True, metavar="NAME",
              help="As for run: NAME and everything that requires it.")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks of errors.")
def why(target: str, args: tuple[str, ...], arg_items: tuple[str, ...],
        option_items: tuple[str, ...], identifier: str | None, state_value: str | None,
        resume: bool, force: tuple[str, ...], force_downstream: tuple[str, ...],
        verbose: bool) -> None:
    """Print, for each task or step of TARGET that a run would run, wait for or skip, the
    one reason: asset missing, external, recorded as done, cached, forced; with the
    requirements it waits for. Runs nothing."""
    path = state_path(state_value)
    if resume and path is None:
        path = DEFAULT_STATE_PATH
    with logging_to_stderr(verbose, None), reporting(verbose):
        root = build(load_target(target), args, arg_items, option_items, identifier)
        store = open_state(path) if path is not None and path.exists() else None
        try:
            lines = explain(root, state=store, force=force, force_downstream=force_downstream)
        finally:
            if store is not None:
                store.close()
    for line in lines:
        click.echo(line)
