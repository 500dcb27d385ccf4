"""Where command-line settings come from, and how the arguments are read.

* Every option may also come from an environment variable ``TASKTRONAUT_<OPTION>``
  (``TASKTRONAUT_THREADS=4``, ``TASKTRONAUT_DRY_RUN=1``) and from a ``[tool.tasktronaut]``
  table in the nearest ``pyproject.toml`` (``threads = 4``; a ``[tool.tasktronaut.run]``
  sub-table applies to one command). The command line wins over the environment, which wins
  over ``pyproject.toml``. A bad value names where it came from.
* Negative numbers are positional arguments, not options, as iotaa reads them:
  ``tasktronaut run location.py:main 40.1672 -105.1091``.
* While ``run --graph`` runs, whatever steps print goes to stderr, so the DOT on stdout stays
  clean (``run --graph > graph.dot``).
* A command is imported when it is used (:class:`LazyGroup`): ``tasktronaut run`` does not
  load what ``worker`` or ``report`` need.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import sys
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import Any

import click

from tasktronaut.cli.errors import (
    ENV_PREFIX,
    PYPROJECT_KEY,
    TABLE,
    CliError,
    OneLineGroup,
    source_of,
)

__all__ = ["EXAMPLES", "PYPROJECT_KEY", "LazyGroup", "TargetCommand", "add_envvars",
           "default_map", "source_of_option", "state_path", "stdout_to_stderr"]
_NEGATIVE_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")

EXAMPLES = """\b
Examples:
  tasktronaut run examples/teatime.py:a_cup_of_tea teatime
  tasktronaut run mypkg.flows.Ingest --arg files='["a.csv", "b.csv"]' --option notify=true -t 4
  tasktronaut run mypkg.flows.Ingest --arg day=2024-05-01 --id nightly --dry-run
  tasktronaut show examples/teatime.py
  tasktronaut graph examples/teatime.py:a_cup_of_tea teatime --format mermaid
"""
GRAPH_FORMATS = ("dot", "json", "mermaid")
"""The formats of ``graph`` and ``run --graph`` (see :func:`render_graph`)."""

arg_option = click.option(
    "--arg", "arg_items", multiple=True, metavar="NAME=VALUE",
    help="A named argument (repeatable); for processes and tasks alike.",
)
option_option = click.option(
    "--option", "option_items", multiple=True, metavar="NAME=VALUE",
    help="A process option, read by builder.option() (repeatable; processes only).",
)
id_option = click.option(
    "--id", "identifier", metavar="IDENTIFIER", help="The process identifier (processes only).",
)
verbose_option = click.option(
    "-v", "--verbose", is_flag=True, help="Log debug messages; show tracebacks of errors.",
)


def render_graph(fmt: str, root: Any) -> str:
    """The graph below ``root`` in one of :data:`GRAPH_FORMATS`."""
    from tasktronaut.model import report

    renderers = {"dot": report.to_dot, "json": report.to_json, "mermaid": report.to_mermaid}
    return renderers[fmt](root)


class LazyGroup(OneLineGroup):
    """A group whose commands in ``lazy`` (name: ``"module:attribute"``) are imported when
    first asked for, each given its ``TASKTRONAUT_`` variables then."""

    def __init__(self, *args: Any, lazy: Mapping[str, str] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        where = self.lazy.get(cmd_name)
        if where is not None and cmd_name not in self.commands:
            module, _, attribute = where.partition(":")
            command = getattr(importlib.import_module(module), attribute)
            add_envvars(command)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)


def command_names(command: click.Command) -> list[str]:
    """The names of a group's commands (a :class:`LazyGroup` imports none); none for a
    command."""
    if not isinstance(command, click.Group):
        return []
    return command.list_commands(click.Context(command))


def subcommands(command: click.Command,
                only: Collection[str] | None = None) -> dict[str, click.Command]:
    """A group's commands by name (those in ``only`` if given), imported if lazy."""
    if not isinstance(command, click.Group):
        return {}
    ctx = click.Context(command)
    found = {name: command.get_command(ctx, name) for name in command.list_commands(ctx)
             if only is None or name in only}
    return {name: sub for name, sub in found.items() if sub is not None}


def envvar_name(option: click.Option) -> str:
    """``TASKTRONAUT_DRY_RUN`` for ``--dry-run``: the longest spelling, upper case."""
    longest = max(option.opts + option.secondary_opts, key=len)
    return ENV_PREFIX + longest.lstrip("-").replace("-", "_").upper()


def add_envvars(command: click.Command) -> None:
    """Give every option of ``command`` (and its subcommands) its ``TASKTRONAUT_`` variable."""
    for param in command.params:
        if isinstance(param, click.Option) and not param.envvar and not param.is_eager:
            param.envvar = envvar_name(param)
    for sub in getattr(command, "commands", {}).values():
        add_envvars(sub)  # a lazy group's other commands get theirs when they are loaded


def find_pyproject(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` in ``start`` or a folder above it."""
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


_NAMED = re.compile(r"""tool["']?\s*\.\s*["']?tasktronaut|^\s*["']?tool["']?\s*=""", re.MULTILINE)
_TOOL_TABLE = re.compile(r"""^\s*\[\s*["']?tool["']?\s*\]""", re.MULTILINE)
_OUR_KEY = re.compile(r"""^\s*["']?tasktronaut["']?\s*[.=]""", re.MULTILINE)


def may_hold_table(text: str) -> bool:
    """Whether TOML ``text`` can define ``[tool.tasktronaut]``: as a header or dotted key
    (``tool.tasktronaut``), as ``tool = {...}``, or as a ``tasktronaut`` key in ``[tool]``.
    Most pyproject files cannot, and are then not parsed at all."""
    return bool(_NAMED.search(text) or (_TOOL_TABLE.search(text) and _OUR_KEY.search(text)))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, ValueError) as e:
        raise CliError(f"cannot read {path}: {e}") from e
    if not may_hold_table(text):
        return {}  # tomllib, which costs a few milliseconds to import, is not needed
    try:
        toml: Any = importlib.import_module("tomllib")
    except ModuleNotFoundError:  # Python 3.10: only with tomli installed
        try:
            toml = importlib.import_module("tomli")
        except ModuleNotFoundError:
            return {}
    try:
        data: dict[str, Any] = toml.loads(text)
    except ValueError as e:
        raise CliError(f"cannot read {path}: {e}") from e
    return data


def _options_by_key(command: click.Command) -> dict[str, click.Option]:
    """A command's options by their ``pyproject.toml`` key (``dry_run`` and ``dry-run``)."""
    found = {}
    for param in command.params:
        if isinstance(param, click.Option) and not param.is_eager:
            key = max(param.opts + param.secondary_opts, key=len).lstrip("-")
            found[key] = found[key.replace("-", "_")] = param
    return found


def default_map(group: click.Group, start: Path, invoked: str | None = None,
                ) -> tuple[dict[str, Any] | None, Path | None]:
    """click's ``default_map`` from ``[tool.tasktronaut]`` in the nearest ``pyproject.toml``.

    Keys that are not a command's name apply to every command with that option; a sub-table
    named after a command (``[tool.tasktronaut.run]``) applies to that command only. With
    the ``invoked`` command's name, only that command and those with a sub-table are
    loaded, unless a shared key is not one of their options (it may be another command's).
    """
    path = find_pyproject(start)
    if path is None:
        return None, None
    table = _read_toml(path).get("tool", {}).get("tasktronaut")
    if table is None:
        return None, path
    if not isinstance(table, dict):
        raise CliError(f"{TABLE} in {path} must be a table")
    shared = {k: v for k, v in table.items() if not _is_command_table(group, k, v)}
    known: set[str] = set()
    wanted = None if invoked is None else {
        invoked, *(k for k, v in table.items() if _is_command_table(group, k, v))}
    result = _command_defaults(group, shared, table, TABLE, path, known, wanted)
    if wanted is not None and not known.issuperset(shared):
        result = _command_defaults(group, shared, table, TABLE, path, known)
    for key in shared:
        _known_key(key, known, TABLE, path)
    return result or None, path


def _is_command_table(group: click.Command, key: str, value: Any) -> bool:
    return isinstance(value, dict) and key in command_names(group)


def _command_defaults(command: click.Command, shared: dict[str, Any], own: dict[str, Any],
                      where: str, path: Path, known: set[str],
                      only: Collection[str] | None = None) -> dict[str, Any]:
    """The defaults of ``command`` (and, nested, of its subcommands; those in ``only``)."""
    by_key = _options_by_key(command)
    known.update(by_key)
    values = {by_key[k].name: v for k, v in shared.items() if k in by_key}
    for key, value in own.items():
        if where != TABLE and not _is_command_table(command, key, value):
            _known_key(key, by_key, where, path)
            values[by_key[key].name] = value
    for name, sub in subcommands(command, only).items():
        found = own.get(name)
        table: dict[str, Any] = found if isinstance(found, dict) else {}
        label = f"[tool.tasktronaut.{name}]" if where == TABLE else f"{where[:-1]}.{name}]"
        nested = _command_defaults(sub, shared, table, label, path, known)
        if nested:
            values[name] = nested
    return values


def _known_key(key: str, known: Any, where: str, path: Path) -> None:
    if key in known:
        return
    import difflib

    close = difflib.get_close_matches(key, sorted(known), n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    raise CliError(f"{where} in {path}: no option '{key}'{hint}")


def state_path(value: str | None) -> Path | None:
    """The path a ``--state`` value names; a usage error if it cannot name a file."""
    if value is None:
        return None
    if not value.strip():
        raise CliError(f"--state needs a file path, got {value!r}")
    path = Path(value)
    if path.is_dir():
        raise CliError(f"--state {value}: is a directory; give a file path")
    return path


def source_of_option(ctx: click.Context, name: str) -> str:
    """:func:`~tasktronaut.cli.errors.source_of` for the parameter called ``name``."""
    param = next((p for p in ctx.command.params if p.name == name), None)
    return source_of(ctx, param)


class TargetCommand(click.Command):
    """A command whose positional arguments may be negative numbers (``-105.1091``)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if any(_NEGATIVE_NUMBER.match(a) for a in args):
            args = self._numbers_as_arguments(args)
        return super().parse_args(ctx, args)

    def _numbers_as_arguments(self, args: list[str]) -> list[str]:
        """The options first, then ``--``, then the positional arguments in their order."""
        takes_value = {
            name for p in self.params if isinstance(p, click.Option)
            and not p.is_flag and not p.count for name in p.opts + p.secondary_opts
        }
        options: list[str] = []
        positional: list[str] = []
        tokens = iter(args)
        for token in tokens:
            if token == "--":
                positional.extend(tokens)
            elif _NEGATIVE_NUMBER.match(token) or not token.startswith("-") or token == "-":
                positional.append(token)
            else:
                options.append(token)
                value = next(tokens, None) if token in takes_value else None
                if value is not None:
                    options.append(value)
        return [*options, "--", *positional]


@contextlib.contextmanager
def stdout_to_stderr(enabled: bool) -> Iterator[None]:
    """While the block runs, send what is printed to stdout (by this process, its threads and
    the worker processes it starts) to stderr instead."""
    if not enabled:
        yield
        return
    saved = None
    with contextlib.suppress(AttributeError, OSError, ValueError):
        if sys.stdout.fileno() == 1:
            sys.stdout.flush()
            saved = os.dup(1)
            os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        if saved is not None:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)
