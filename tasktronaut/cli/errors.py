"""Errors of the command line, and turning any error into one line on stderr."""

from __future__ import annotations

import contextlib
import sys
import traceback
from collections.abc import Iterator
from typing import Any

import click

from tasktronaut.errors import ArgumentError, TasktronautError


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
        if not message.endswith((".", "?", "!")):
            message += "."
        raise CliError(f"{message} See '{where} --help'.") from None


def describe(error: BaseException) -> str:
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
        raise CliError(describe(e)) from e
    except Exception as e:
        if verbose:
            traceback.print_exception(e, file=sys.stderr)
        raise WorkflowError(describe(e)) from e


