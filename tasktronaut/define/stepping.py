"""What a step takes besides its process arguments: its options (async steps run on the
event loop) and its inputs (earlier steps' results as arguments), resolved at build time so
that a mistake names both steps before anything runs."""

from __future__ import annotations

import functools
import inspect
from typing import Any

from tasktronaut.define.signature import call_with, callable_name, check_item
from tasktronaut.define.steps import ProcessRun, function_key
from tasktronaut.errors import ArgumentError
from tasktronaut.model.node import Node
from tasktronaut.model.options import ExecutorKind, TaskOptions
from tasktronaut.state.fingerprint import canonical, item_key


def is_async(func: Any) -> bool:
    """Whether calling ``func`` gives a coroutine (an ``async def`` function or method)."""
    target = getattr(func, "__func__", func)
    try:
        return _is_coroutine_function(target)
    except TypeError:  # not hashable: ask every time
        return inspect.iscoroutinefunction(target)


@functools.lru_cache(maxsize=4096)
def _is_coroutine_function(target: Any) -> bool:
    return inspect.iscoroutinefunction(target)


def step_options(func: Any, base: TaskOptions, given: dict[str, Any]) -> TaskOptions:
    """A step's options: the method's ``@task(...)`` ones, then ``builder.task``'s; an
    ``async def`` step runs on the run's event loop and nowhere else."""
    options = base.merged(**given) if given else base
    if not is_async(func):
        return options
    if options.executor not in (None, ExecutorKind.ASYNC):
        kind = getattr(options.executor, "value", options.executor)
        raise ArgumentError(f"the async step {callable_name(func, None)} runs on the run's "
                            f"event loop; it cannot take executor={kind!r}",
                            name="executor", value=options.executor)
    return options.merged(executor="async")


def resolve_inputs(registry: dict[str, Any], run: ProcessRun, scope: Any, step: str,
                   inputs: dict[str, Any], accepts_all: bool,
                   names: frozenset[str]) -> dict[str, Node]:
    """The earlier step node behind each input; a missing, ambiguous or unwanted source is
    an error naming both steps."""
    if not inputs:
        return {}
    if not isinstance(inputs, dict):
        raise ArgumentError(f"step '{step}': inputs must be a dict of parameter names to "
                            f"earlier steps, got {inputs!r}", name="inputs", value=inputs)
    found = {}
    for param, source in inputs.items():
        if not accepts_all and param not in names:
            raise ArgumentError(f"step '{step}' has no parameter '{param}' for its input "
                                f"from {_label(source, run.definition)}", name=param)
        found[param] = _source_node(registry, run, scope, step, param, source)
    return found


def _source_node(registry: dict[str, Any], run: ProcessRun, scope: Any, step: str,
                 param: str, source: Any) -> Node:
    if isinstance(source, Node):
        return source
    if isinstance(source, str):
        names = [source] if source in registry else []
    else:
        names = list(run.steps_by_function.get(function_key(source), []))
        here = getattr(scope, "iteration", ())
        inside = [n for n in names if here[:len(run.scopes.get(n, ()))] == run.scopes.get(n, ())
                  and run.scopes.get(n)]
        names = inside or names
    label = _label(source, run.definition)
    if not names:
        raise ArgumentError(f"step '{step}': input '{param}' comes from {label}, which is not "
                            "an earlier step of its process", name=param)
    if len(names) > 1:
        raise ArgumentError(f"step '{step}': input '{param}' is ambiguous: {label} is used by "
                            f"steps {', '.join(names)}; give the step's name or node",
                            name=param)
    return registry[names[0]]  # type: ignore[no-any-return]


def _label(source: Any, definition: Any = None) -> str:
    if isinstance(source, Node):
        return f"'{source.taskname}'"
    if isinstance(source, str):
        return f"'{source}'"
    return callable_name(source, definition)


def each_item(item: Any, key: Any, func: Any) -> tuple[dict[str, Any], str | None, str]:
    """An ``each`` item's arguments, description and record-key segment."""
    if isinstance(item, tuple) and len(item) == 3 and isinstance(item[0], dict):
        data, description = check_item(item[:2], func, "each")
        return data, description, item_key(canonical(item[2]))
    data, description = check_item(item, func, "each")
    return data, description, _item_segment(data, key, func)


def _item_segment(data: dict[str, Any], key: Any, func: Any) -> str:
    """An ``each`` item's part of its steps' record keys: its content, or its key."""
    if key is None:
        return item_key(data)
    if isinstance(key, str) and not callable(key):
        if key not in data:
            raise ArgumentError(
                f"each: key={key!r} is not a field of the item {data!r} of "
                f"{callable_name(func, None)}", name="key", value=key)
        return item_key(canonical(data[key]))
    if not callable(key):
        raise ArgumentError(f"each: key must be an item field's name or a function, got "
                            f"{key!r}", name="key", value=key)
    return item_key(canonical(call_with(key, data, "each key")))
