"""``tasktronaut state``: look at and reset what a state store recorded.

A state file records, per process identifier, the steps that completed and their results
(see :mod:`tasktronaut.state`). ``list`` shows the identifiers, ``show`` the steps of one, and
``forget`` removes a record (or all of an identifier's), so that the next run with ``--state``
does that work again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from tasktronaut.cli.errors import CliError
from tasktronaut.state import DEFAULT_STATE_PATH, SQLiteStore

_state_path = click.option(
    "--state", "path", type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_STATE_PATH, show_default=True, help="The state file.",
)


def _open(path: Path) -> SQLiteStore:
    if not path.exists():
        raise CliError(f"no state file at {path}")
    return SQLiteStore(path)


def _show(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=repr)
    except (TypeError, ValueError):
        return repr(value)


@click.group(short_help="Look at or reset what a state file recorded.")
def state() -> None:
    """Look at or reset the completed steps a state file recorded per process identifier."""


@state.command("list")
@_state_path
def list_(path: Path) -> None:
    """List the process identifiers with their number of completed steps."""
    with _open(path) as store:
        summaries = store.processes()
    if not summaries:
        click.echo(f"Nothing recorded in {path}")
        return
    width = max(len(s.process_id) for s in summaries)
    for summary in summaries:
        stamp = summary.last_update.astimezone().strftime("%Y-%m-%dT%H:%M:%S")
        click.echo(f"{summary.process_id:<{width}}  {summary.steps:>5} step(s)  {stamp}")


@state.command()
@click.argument("identifier")
@_state_path
def show(identifier: str, path: Path) -> None:
    """Show the completed steps of IDENTIFIER and their results."""
    with _open(path) as store:
        completed = store.completed(identifier)
    if not completed:
            raise CliError(f"nothing recorded for '{identifier}' in {path}")
    for step, result in completed.items():
        click.echo(f"{step}: {_show(result)}")


@state.command()
@click.argument("identifier")
@click.argument("step", required=False)
@_state_path
def forget(identifier: str, step: str | None, path: Path) -> None:
    """Forget STEP of IDENTIFIER (or all its steps), so that it runs again next time."""
    with _open(path) as store:
        removed = store.forget(identifier, step)
    what = f"'{step}' of '{identifier}'" if step else f"'{identifier}'"
    click.echo(f"Forgot {removed} record(s) of {what}")
