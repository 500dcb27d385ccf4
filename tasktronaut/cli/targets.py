"""What a TARGET names (a process class or an asset-task function), and building it from the
command-line values."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
import typing
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs

from tasktronaut.cli.convert import convert_arguments, convert_call, parse_assignments, parse_value
from tasktronaut.cli.errors import CliError, describe
from tasktronaut.define.decorators import TaskFunction
from tasktronaut.define.signature import short_repr
from tasktronaut.errors import ArgumentError
from tasktronaut.model.node import Node


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
    if not path.exists():
        raise CliError(f"no such file: {spec}")
    if not path.is_file():
        raise CliError(f"not a Python file: {spec}")
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
    return CliError(f"importing {spec} failed: {describe(error)}")


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
    if is_process(obj):
        return Target(spec, obj, is_process=True)
    raise CliError(
        f"{spec} is neither a process nor a task (it is {_kind_of(obj)})"
    )


def is_process(obj: Any) -> bool:
    """Whether ``obj`` is a process definition (a subclass of ``ProcessDefinition``).

    No class can be one unless its module imported the process module, so this never
    imports it (with the builder) for a module of asset tasks.
    """
    process = sys.modules.get("tasktronaut.define.process")
    if process is None or not isinstance(obj, type):
        return False
    definition = process.ProcessDefinition
    return issubclass(obj, definition) and obj is not definition


def _kind_of(obj: Any) -> str:
    if isinstance(obj, type):
        return f"the class {obj.__name__}"
    if callable(obj):
        return f"a plain {type(obj).__name__}, not decorated with @task"
    return f"a {type(obj).__name__}"


def build(target: Target, args: Sequence[str], arg_items: Sequence[str],
          option_items: Sequence[str], identifier: str | None) -> Node:
    """Convert the command-line values and build the target's graph; nothing runs.

    A name the target does not take is an error naming the closest one it does: an ``--arg``
    a process does not declare (when it declares its arguments) or a function does not
    accept, and an ``--option`` the process never reads.
    """
    named = parse_assignments(arg_items, "--arg")
    options = {k: parse_value(v) for k, v in parse_assignments(option_items, "--option").items()}
    if target.is_process:
        return _build_process(target, args, named, options, identifier)
    if option_items or identifier is not None:
        flag = "--option" if option_items else "--id"
        raise ArgumentError(f"{flag} applies to processes only; {target.spec} is a task")
    params = inspect.signature(target.obj.func).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        accepted = [n for n, p in params.items() if p.kind is not inspect.Parameter.VAR_POSITIONAL
                    and p.kind is not inspect.Parameter.POSITIONAL_ONLY]
        check_names(named, accepted, "--arg", f"a parameter of {target.spec}")
    call_args, call_kwargs = convert_call(target.obj.func, args, named, target.spec)
    return typing.cast(Node, target.obj.build(*call_args, **call_kwargs))


def _build_process(target: Target, args: Sequence[str], named: dict[str, str],
                   options: dict[str, Any], identifier: str | None) -> Node:
    """:func:`build` for a process: its arguments by name, its options checked by use."""
    from tasktronaut.define.reading import ALL_OPTIONS, option_reads, probe_expected_arguments

    if args:
        raise ArgumentError(
            f"a process takes --arg NAME=VALUE, not positional arguments "
            f"(got {short_repr(args[0])})"
        )
    types = probe_expected_arguments(target.obj, options)
    if types:
        check_names(named, types, "--arg", f"an argument of {target.spec}")
    kwargs = convert_arguments(named, types)
    reads: set[str] = set()
    token = option_reads.set(reads)
    try:
        root = typing.cast(Node, target.obj.build(identifier, options, **kwargs))
    finally:
        option_reads.reset(token)
    if ALL_OPTIONS not in reads:
        check_names(options, reads, "--option", f"an option {target.spec} reads")
    return root


def check_names(given: typing.Iterable[str], known: typing.Iterable[str], flag: str,
                what: str) -> None:
    """Refuse the first name in ``given`` that is not in ``known``, naming the closest."""
    known = sorted(known)
    for name in given:
        if name in known:
            continue
        import difflib

        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        if close:
            hint = f"did you mean '{close[0]}'?"
        elif known:
            hint = f"choose from: {', '.join(known)}"
        else:
            hint = "it takes none"
        raise ArgumentError(f"{flag} {short_repr(name)} is not {what}; {hint}", name=name)
