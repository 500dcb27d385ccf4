"""What a step takes besides its process arguments: its options (async steps run on the
event loop) and its inputs (earlier steps' results as arguments), resolved at build time so
that a mistake names both steps before anything runs."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any

from tasktronaut.define.decorators import options_of
from tasktronaut.define.runs import ProcessRun, function_key
from tasktronaut.define.signature import (
    annotate,
    call_with,
    callable_name,
    check_argument,
    check_hint,
    check_item,
    check_required,
    is_optional,
    is_type,
    short_repr,
    signature_of,
    type_name,
    user_code,
)
from tasktronaut.define.steps import ExecutionMode, StepCall, arun_step, run_step
from tasktronaut.errors import ArgumentError, MissingArgumentError, TasktronautError
from tasktronaut.model.freshness import expand_ready, stale
from tasktronaut.model.node import Node, NodeKind, NodeStatus, check_assets
from tasktronaut.model.options import DEFAULT_OPTIONS, ExecutorKind, TaskOptions
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


def each_item(item: Any, key: Any,
              func: Any) -> tuple[dict[str, Any], str | None, str | dict[str, Any]]:
    """An ``each`` item's arguments, description and record-key segment (or the item
    itself, when it is keyed by its content: its canonical text is worked out when a
    record key is asked for)."""
    if key is None and type(item) is dict:  # the common item, checked without a call
        for name in item:
            if type(name) is not str:
                break
        else:
            data = dict(item)  # as it is now, should the items function reuse its dict
            return data, None, data
    if isinstance(item, tuple) and len(item) == 3 and isinstance(item[0], dict):
        data, description = check_item(item[:2], func, "each")
        return data, description, item_key(canonical(item[2]))
    data, description = check_item(item, func, "each")
    if key is None:
        data = dict(data)
        return data, description, data
    return data, description, _item_segment(data, key, func)


def _item_segment(data: dict[str, Any], key: Any, func: Any) -> str:
    """An ``each`` item's part of its steps' record keys: its key."""
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


Facts = tuple[TaskOptions, str, bool, frozenset[str], bool, tuple[str, ...], frozenset[str]]
"""What a step needs of its callable: options, label, whether it takes any keyword, the
names it takes, whether it takes ``context``, the names it requires (and as a set)."""


def function_facts(cache: dict[Any, Facts], func: Any, definition: Any) -> Facts:
    """A step callable's options (its ``@task`` ones), label and signature: the same for
    every step that calls it, so worked out once per build and kept in ``cache``."""
    try:
        facts = cache.get(func)
    except TypeError:  # not hashable: work them out every time
        return _facts(func, definition)
    if facts is None:
        facts = cache[func] = _facts(func, definition)
    return facts


def _facts(func: Any, definition: Any) -> Facts:
    options = step_options(func, options_of(func) or DEFAULT_OPTIONS, {})
    accepts_all, names, wants_context, required = signature_of(func)
    return (options, callable_name(func, definition), accepts_all, names, wants_context,
            required, frozenset(required))


def make_step(builder: Any, func: Callable[..., Any], description: str | None,
              options: dict[str, Any], inputs: dict[str, Any] | None) -> Node:
    """A step node calling ``func`` in ``builder``'s block, with its name, arguments, inputs
    and options worked out (``Builder.task`` adds it to the block). Its record key, its
    description and its plan entry are worked out when first asked for."""
    compiler, scope, block = builder._compiler, builder._scope, builder._block
    run = compiler.run
    opts, label, accepts_all, names, wants_context, required, needs = function_facts(
        compiler.functions, func, run.definition)
    if options:
        opts = step_options(func, options_of(func) or DEFAULT_OPTIONS, options)
    name = description or _step_name(opts.description, label, scope)
    if name in compiler.registry:
        name = compiler.unique(name)
    available = scope.kwargs
    kwargs = dict(available) if accepts_all else {
        k: v for k, v in available.items() if k in names}
    sources = resolve_inputs(compiler.registry, run, scope, name, inputs, accepts_all,
                             names) if inputs else None
    if needs and not kwargs.keys() >= needs:
        check_required(required, name, {**kwargs, **sources} if sources else kwargs, available)
    call = StepCall(run, func, kwargs, wants_context, scope, label, description,
                    description or opts.description)
    before = block.cursor if block.mode is _SEQUENTIAL else block.entry
    if sources:
        call.inputs = {p: n.taskname for p, n in sources.items()}
        before += tuple(n for n in sources.values() if n not in before)
    if opts is DEFAULT_OPTIONS:
        node = Node(name, _STEP, None, opts, None, before, None, run_step, None, call, call)
    else:
        node = _step_node(name, opts, before, call, scope, block)
    compiler.registry[name] = node
    compiler.steps.append(node)
    compiler.unclaimed.append(call)
    block.items.append(node)
    return node


def _step_name(decorated: str | None, label: str, scope: Any) -> str:
    """A step's display name without a description of its own: the decorator's or its
    callable's name, with the items in scope (a name shown in logs, not a record key)."""
    if decorated:
        return f"{decorated} ({scope.label})" if scope.items else decorated
    return f"{label}({scope.label})" if scope.items else label


def check_expected(process: str, kwargs: dict[str, Any], expected: dict[str, Any]) -> None:
    """``expected_arguments``: presence and type of each argument (``None``: any type);
    an omitted ``Optional[...]`` argument becomes ``None``."""
    for name, hint in expected.items():
        if hint is not None and not is_type(hint):
            raise ArgumentError(
                f"{process}: expected_arguments({name}=...) needs a type (or None for "
                f"any), got {short_repr(hint)}", name=name, value=hint,
            )
        if hint is not None:
            check_hint(process, name, hint)
        if name not in kwargs:
            if hint is not None and is_optional(hint):
                kwargs[name] = None
                continue
            raise MissingArgumentError(
                f"{process}: missing argument '{name}' (expected {type_name(hint)})",
                name=name,
            )
        if hint is not None:
            check_argument(process, name, kwargs[name], hint)


_DONE = object()
_STEP, _SEQUENTIAL = NodeKind.STEP, ExecutionMode.SEQUENTIAL


def static_each(builder: Any, func: Callable[..., Any], description: str | None,
                key: Any) -> Iterator[Any]:
    """A sub-block of ``builder`` per item ``func`` yields now, while the process is built."""
    phase = f"in each {callable_name(func, builder._compiler.run.definition)}"
    items = user_code(phase, call_with, func, builder._scope.kwargs, "each")
    try:
        iterator = iter(items)
    except TypeError:
        raise ArgumentError(
            f"each: {callable_name(func, None)} must yield dicts, got {short_repr(items)}",
            name="each", value=items,
        ) from None
    mode = builder._block.mode
    while True:
        try:
            item = next(iterator, _DONE)
        except Exception as e:  # as user_code() says where the workflow's own code raised
            if not isinstance(e, TasktronautError):
                annotate(e, phase)
            raise
        if item is _DONE:
            return
        data, item_description, segment = each_item(item, key, func)
        child = builder._open(mode, data, item_description or description, segment)
        try:
            yield child
        finally:
            builder._close(child)


def _step_node(name: str, opts: TaskOptions, before: tuple[Node, ...], call: StepCall,
               scope: Any, block: Any) -> Node:
    """The node of a step with options of its own; one whose declared asset is ready already
    (and not stale) is done before the run, as an asset task would be."""
    declared = None
    if opts.asset is not None:
        declared = check_assets(call_with(opts.asset, scope.kwargs), name)
        call.declared = True
    action = arun_step if opts.executor is ExecutorKind.ASYNC else run_step
    node = Node(name, _STEP, declared, opts, None, before, None, action, None, call, call)
    if declared is not None and node.ready and not expand_ready.get() and not (
            opts.stale_if is not None and stale(node)):
        node.status = NodeStatus.ALREADY_READY
        node._deps = ()
        block.pending_exit = before
    if opts.stale_if == "changed":
        call.run.top.watches_changes = True
    return node
