"""What a queued run names: a process class or asset task by its import path, and its call.

A worker runs in another thread, process or machine than the one that submitted, so a run
is recorded by name (``pkg.module:Name`` or ``/abs/path/file.py:Name``) and its arguments as
JSON, and built afresh where it runs.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import json
import os
import sys
import typing
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs

from tasktronaut.define.builder import build_process
from tasktronaut.define.decorators import TaskFunction, build_root
from tasktronaut.define.process import ProcessDefinition
from tasktronaut.errors import ArgumentError
from tasktronaut.model.node import Node


@attrs.frozen
class Call:
    """What to build: the target's name and the values to build it with."""

    target: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = attrs.field(factory=dict)
    options: dict[str, Any] = attrs.field(factory=dict)
    file: str | None = None
    """The file of the target's module, used where the module cannot be imported by name."""

    def to_json(self) -> str:
        """The call as JSON; refuses values that JSON cannot carry."""
        data = {"args": list(self.args), "kwargs": self.kwargs, "options": self.options,
                "file": self.file}
        try:
            return json.dumps(data, sort_keys=True)
        except (TypeError, ValueError) as exc:
            raise ArgumentError(f"arguments of a background run must be JSON data: {exc}",
                                name="arguments", value=data) from exc

    @classmethod
    def from_json(cls, target: str, text: str) -> Call:
        data = json.loads(text)
        return cls(target, tuple(data["args"]), data["kwargs"], data["options"],
                   data.get("file"))


def file_of(obj: Any) -> str | None:
    """The absolute path of the file that defines ``obj`` (None if there is none)."""
    inner = obj.func if isinstance(obj, TaskFunction) else obj
    module = sys.modules.get(getattr(inner, "__module__", ""))
    found = getattr(module, "__file__", None)
    return None if found is None else str(Path(found).resolve())


def name_of(obj: Any) -> str:
    """The import path of a process class or task function (``module:Name``)."""
    inner = obj.func if isinstance(obj, TaskFunction) else obj
    module = getattr(inner, "__module__", None)
    qualname = getattr(inner, "__qualname__", "")
    if module is None or "<" in qualname:
        raise ArgumentError(f"{obj!r} cannot be run in the background: define it at the top "
                            "level of a module", name="target", value=obj)
    if module == "__main__":
        main = sys.modules["__main__"]
        module = str(Path(str(getattr(main, "__file__", "__main__"))).resolve())
    return f"{module}:{qualname}"


def identifier_of(node: Node) -> str | None:
    """The identifier a built process root was given (None for tasks or none given)."""
    rebuild = node._rebuild
    if isinstance(rebuild, functools.partial) and rebuild.func is build_process:
        return typing.cast("str | None", rebuild.args[1])
    return None


def call_of(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any],
            options: dict[str, Any] | None) -> Call:
    """The call for a process class, a task function or a built root node."""
    if isinstance(target, Node):
        return _call_of_node(target)
    if isinstance(target, type) and issubclass(target, ProcessDefinition):
        if args:
            raise ArgumentError("a process takes keyword arguments only", name="args",
                                value=args)
        return Call(name_of(target), (), dict(kwargs), dict(options or {}), file_of(target))
    if isinstance(target, TaskFunction):
        if options:
            raise ArgumentError("options apply to processes only", name="options",
                                value=options)
        return Call(name_of(target), tuple(args), dict(kwargs), file=file_of(target))
    raise ArgumentError(f"a background run needs a process class, a @task function or a "
                        f"node they built, got {target!r}", name="target", value=target)


def _call_of_node(node: Node) -> Call:
    rebuild = node._rebuild
    if isinstance(rebuild, functools.partial):
        if rebuild.func is build_process:
            definition, _identifier, options, kwargs = rebuild.args
            return Call(name_of(definition), (), dict(kwargs), dict(options or {}),
                        file_of(definition))
        if rebuild.func is build_root:
            function, args, kwargs = rebuild.args[:3]
            return Call(name_of(function), tuple(args), dict(kwargs), file=file_of(function))
    raise ArgumentError(f"node '{node.taskname}' was not built by a process class or a "
                        "@task function, so it cannot be rebuilt elsewhere",
                        name="node", value=node)


def load(target: str, file: str | None = None) -> Any:
    """The object a target name stands for (from ``file`` if its module is not importable
    by name here)."""
    module_name, sep, name = target.rpartition(":")
    if not sep or not module_name:
        raise ArgumentError(f"target must be pkg.module:Name or path/file.py:Name, got "
                            f"{target!r}", name="target", value=target)
    try:
        module = _module(module_name)
    except ModuleNotFoundError as exc:
        if file is None or exc.name != module_name.partition(".")[0]:
            raise
        module = _module(file)
    obj: Any = module
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def _module(spec: str) -> ModuleType:
    if not (spec.endswith(".py") or os.sep in spec):
        if os.getcwd() not in sys.path:
            sys.path.append(os.getcwd())
        return importlib.import_module(spec)
    path = Path(spec).resolve()
    for module in list(sys.modules.values()):
        if getattr(module, "__file__", None) and Path(str(module.__file__)) == path:
            return module
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    found = importlib.util.spec_from_file_location(path.stem, path)
    if found is None or found.loader is None:
        raise ArgumentError(f"cannot import {spec}", name="target", value=spec)
    module = importlib.util.module_from_spec(found)
    sys.modules.setdefault(path.stem, module)
    found.loader.exec_module(module)
    return module


def build(call: Call, identifier: str) -> Node:
    """Build the graph the call names, with ``identifier`` for a process."""
    obj = load(call.target, call.file)
    if isinstance(obj, type) and issubclass(obj, ProcessDefinition):
        return obj.build(identifier, call.options or None, **call.kwargs)
    if isinstance(obj, TaskFunction):
        return obj.build(*call.args, **call.kwargs)
    raise ArgumentError(f"{call.target} is neither a process nor a @task function",
                        name="target", value=call.target)
