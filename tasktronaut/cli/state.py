"""``tasktronaut state``: look at and reset what a state store recorded.

A state file records, per process identifier, the steps that completed and their results
(see :mod:`tasktronaut.state`). ``list`` shows the identifiers, ``show`` the steps of one, and
``forget`` removes a record (or all of an identifier's), so that the next run with ``--state``
does that work again.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tasktronaut.cli.config import state_path
from tasktronaut.cli.errors import CliError
from tasktronaut.errors import StateError
from tasktronaut.state import DEFAULT_STATE_PATH

if TYPE_CHECKING:  # the stores (sqlite3) load when a state file is opened
    from tasktronaut.state import SQLiteStore


def open_state(path: Path) -> SQLiteStore:
    """The store at ``path`` for a run; a usage error (one line) if it cannot be one."""
    from tasktronaut.state import SQLiteStore

    try:
        return SQLiteStore(path)
    except StateError as e:
        raise CliError(str(e)) from e


_state_path = click.option(
    "--state", "path", default=str(DEFAULT_STATE_PATH), show_default=True, metavar="PATH",
    help="The state file.",
)


@contextlib.contextmanager
def _opened(value: str) -> Iterator[SQLiteStore]:
    """The existing store at ``value``; any problem with it is one error line."""
    path = state_path(value)
    assert path is not None
    if not path.exists():
        raise CliError(f"no state file at {path}")
    store = open_state(path)
    try:
        yield store
    except StateError as e:
        raise CliError(str(e)) from e
    finally:
        store.close()


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
def list_(path: str) -> None:
    """List the process identifiers with their number of completed steps, and the runs
    working on them now."""
    from tasktronaut.state import DEFAULT_TTL, NAMESPACES

    with _opened(path) as store:
        summaries = [s for s in store.processes() if not s.process_id.startswith(NAMESPACES)]
        if not summaries:
            click.echo(f"Nothing recorded in {path}")
            return
        width = max(len(s.process_id) for s in summaries)
        for summary in summaries:
            stamp = summary.last_update.astimezone().strftime("%Y-%m-%dT%H:%M:%S")
            lease = store.lease(summary.process_id)
            running = f"  running (pid {lease.pid} on {lease.host})" if (
                lease is not None and lease.holds(DEFAULT_TTL)) else ""
            click.echo(f"{summary.process_id:<{width}}  {summary.steps:>5} step(s)  {stamp}"
                       f"{running}")


@state.command()
@click.argument("identifier")
@_state_path
def show(identifier: str, path: str) -> None:
    """Show the completed steps of IDENTIFIER and their results."""
    with _opened(path) as store:
        completed = store.completed(identifier)
    if not completed:
        raise CliError(f"nothing recorded for '{identifier}' in {path}")
    for step, result in completed.items():
        click.echo(f"{step}: {_show(result)}")


@state.command()
@click.argument("identifier")
@click.argument("step", required=False)
@_state_path
def forget(identifier: str, step: str | None, path: str) -> None:
    """Forget STEP of IDENTIFIER (or all its steps, and the arguments they were made with),
    so that it runs again next time."""
    with _opened(path) as store:
        removed = store.forget(identifier, step)
    what = f"'{step}' of '{identifier}'" if step else f"'{identifier}'"
    click.echo(f"Forgot {removed} record(s) of {what}")


@state.group(short_help="List or clear cached step results.")
def cache() -> None:
    """List or clear the results steps cached with ``cache_key`` (see ``@task(cache_key=)``)."""


@cache.command("list")
@_state_path
def cache_list(path: str) -> None:
    """List each cached step with its number of cached results."""
    with _opened(path) as store:
        summaries = [s for s in store.processes() if s.process_id.startswith("cache:")]
    if not summaries:
        click.echo(f"Nothing cached in {path}")
        return
    width = max(len(s.process_id) - 6 for s in summaries)
    for summary in summaries:
        stamp = summary.last_update.astimezone().strftime("%Y-%m-%dT%H:%M:%S")
        click.echo(f"{summary.process_id[6:]:<{width}}  {summary.steps:>5} result(s)  {stamp}")


@cache.command("clear")
@click.argument("step", required=False)
@_state_path
def cache_clear(step: str | None, path: str) -> None:
    """Clear the cached results of STEP (a name ``cache list`` shows), or all of them."""
    with _opened(path) as store:
        names = [s.process_id for s in store.processes() if s.process_id.startswith("cache:")]
        chosen = [n for n in names if step is None or n == f"cache:{step}"]
        if step is not None and not chosen:
            raise CliError(f"nothing cached for '{step}' in {path}")
        removed = sum(store.forget(name) for name in chosen)
    click.echo(f"Cleared {removed} cached result(s)")
