"""Errors of the command line, and turning any error into one line on stderr."""

from __future__ import annotations

import contextlib
import sys
import traceback
from collections.abc import Iterator
from typing import Any

import click
from click.core import ParameterSource

from tasktronaut.define.signature import PHASE_ATTR
from tasktronaut.errors import ArgumentError, TasktronautError

ENV_PREFIX = "TASKTRONAUT_"
TABLE = "[tool.tasktronaut]"
PYPROJECT_KEY = "tasktronaut.pyproject"
"""Where the root context's ``meta`` keeps the path of the ``pyproject.toml`` read."""
LINE_LIMIT = 400
"""The longest error line printed; the rest of a longer message is cut."""


def source_of(ctx: click.Context | None, param: click.Parameter | None) -> str:
    """`` (from TASKTRONAUT_X)`` or `` (from [tool.tasktronaut] in PATH)`` when the value of
    ``param`` did not come from the command line; empty otherwise."""
    if ctx is None or param is None or param.name is None:
        return ""
    source = ctx.get_parameter_source(param.name)
    if source is ParameterSource.ENVIRONMENT and isinstance(param, click.Option):
        return f" (from {param.envvar if isinstance(param.envvar, str) else ENV_PREFIX})"
    if source is ParameterSource.DEFAULT_MAP:
        path = ctx.find_root().meta.get(PYPROJECT_KEY)
        return f" (from {TABLE} in {path})"
    return ""


class CliError(click.ClickException):
    """A usage error, shown as one line (``Error: <message>``); exit status 2."""

    exit_code = 2


class WorkflowError(CliError):
    """The workflow's own code raised before or outside its tasks; exit status 1."""

    exit_code = 1


class OneLineGroup(click.Group):
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
        if isinstance(e, click.BadParameter):
            message = message.rstrip(".") + source_of(e.ctx, e.param)
        if not message.endswith((".", "?", "!", ")")):
            message += "."
        raise CliError(f"{message} See '{where} --help'.") from None


def describe(error: BaseException) -> str:
    """One line for an exception: its message, prefixed by its type unless ours, and by
    where in building the workflow it was raised; cut to :data:`LINE_LIMIT` characters."""
    lines = str(error).strip().splitlines()
    text = lines[0] if lines else ""
    if isinstance(error, TasktronautError) and text:
        line = text
    else:
        line = f"{type(error).__name__}: {text}" if text else type(error).__name__
    phase = getattr(error, PHASE_ATTR, None)
    if isinstance(phase, str):
        line = f"{phase}: {line}"
    if len(line) > LINE_LIMIT:
        line = f"{line[:LINE_LIMIT]}… ({len(line) - LINE_LIMIT} more characters)"
    return line


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
        raise CliError(describe(e)) from e
    except Exception as e:
        if verbose:
            traceback.print_exception(e, file=sys.stderr)
        raise WorkflowError(describe(e)) from e


