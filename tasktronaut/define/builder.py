"""The builder DSL, compiled into graph nodes. This is the only module that knows the DSL.

Blocks compile to edges, not to objects that schedule themselves. A block has an *entry*
(what must be done before anything in it starts) and an *exit* (what must be done before
anything after it). In a sequential block each item requires the exit of the one before; in a
concurrent block every item requires the block's entry, and the exits of its items are gathered
by one join node, so consecutive concurrent blocks of n steps cost O(n) edges, not O(n^2).

``each`` iterations and ``transform`` scopes are sub-blocks in the mode of the block around
them; they only change the arguments (and the inherited description) their steps see.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import MethodType, SimpleNamespace
from typing import TYPE_CHECKING, Any

from tasktronaut.define.decorators import BoundTaskFunction, TaskFunction
from tasktronaut.define.dynamic import dynamic_each
from tasktronaut.define.reading import ALL_OPTIONS, execution_mode, note_read
from tasktronaut.define.runs import ProcessRun
from tasktronaut.define.session import Session, current_session
from tasktronaut.define.signature import (
    call_with,
    callable_name,
    check_item,
    short_repr,
    user_code,
)
from tasktronaut.define.stepping import check_expected, make_step, static_each
from tasktronaut.define.steps import ExecutionMode, complete_process
from tasktronaut.define.views import GeneratedId, Options, ProcessNode
from tasktronaut.errors import ArgumentError
from tasktronaut.logs import RunLog, current_log
from tasktronaut.model.node import Node, NodeKind, add_requirements
from tasktronaut.model.options import DEFAULT_OPTIONS
from tasktronaut.state.fingerprint import arguments_of, item_key

if TYPE_CHECKING:
    from tasktronaut.define.process import ProcessDefinition

_SEQUENTIAL, _CONCURRENT = ExecutionMode.SEQUENTIAL, ExecutionMode.CONCURRENT
_DONE = object()
Plan = dict[str, Any]


class _Scope:
    """The arguments steps see here, the description they inherit, and the items (from
    ``each``/``transform``) that label step names.

    One is made per ``each`` iteration, so it is a hand-written slotted class; its step
    labels, record-key path and iterations are worked out when first asked for.
    """

    __slots__ = ("_iteration", "_label", "_number", "_path", "_segment", "description", "items",
                 "kwargs", "outer")

    def __init__(self, kwargs: dict[str, Any], description: str | None = None,
                 items: tuple[dict[str, Any], ...] = (), outer: _Scope | None = None,
                 segment: str | dict[str, Any] | None = None, number: int = 0,
                 label: str | None = None) -> None:
        self.kwargs = kwargs
        self.description = description
        self.items = items
        self.outer = outer
        self._segment = segment  # the item's record-key segment, or the item to key by content
        self._number = number  # which each/transform iteration this scope is (0: none)
        self._path: tuple[str, ...] | None = None
        self._iteration: tuple[int, ...] | None = None
        if outer is None:
            self._path = self._iteration = ()
        self._label = label

    @property
    def iteration(self) -> tuple[int, ...]:
        """Which ``each``/``transform`` iterations this scope is in (for ``context.result``)."""
        iteration = self._iteration
        if iteration is None:
            assert self.outer is not None
            iteration = self.outer.iteration
            if self._number:
                iteration = (*iteration, self._number)
            self._iteration = iteration
        return iteration

    @property
    def label(self) -> str:
        """``k='v', ...`` for the items in scope (worked out once, when a name needs it)."""
        label = self._label
        if label is None:
            items = self.items
            seen = items[0] if len(items) == 1 else {k: v for i in items for k, v in i.items()}
            if len(seen) == 1:  # most items have one field: no list to join
                ((k, v),) = seen.items()
                label = f"{k}={v!r}"
            else:
                label = ", ".join([f"{k}={v!r}" for k, v in seen.items()])
            self._label = label
        return label

    @property
    def path(self) -> tuple[str, ...]:
        """Record-key segments of the items in scope: each one's content or its user key."""
        path = self._path
        if path is None:
            assert self.outer is not None
            path = self.outer.path
            segment = self._segment
            if segment is not None:
                path = (*path, segment if isinstance(segment, str) else item_key(segment))
            self._path = path
        return path


class _Block:
    """A sequential or concurrent block being compiled; its items give the plan."""

    __slots__ = ("compiler", "cursor", "data", "description", "entry", "exits", "items", "mode",
                 "pending_exit")

    def __init__(self, compiler: _Compiler, mode: ExecutionMode, entry: tuple[Node, ...],
                 data: dict[str, Any] | None = None, description: str | None = None) -> None:
        self.compiler = compiler
        self.mode = mode
        self.entry = entry
        self.cursor = entry
        self.exits: list[Node] = []
        self.items: list[Any] = []
        """Step nodes, sub-blocks, sub-processes (their runs) and plan data, in order."""
        self.data = data
        self.description = description
        self.pending_exit: tuple[Node, ...] = ()

    def requires(self) -> tuple[Node, ...]:
        """What the next item of this block must wait for."""
        return self.cursor if self.mode is _SEQUENTIAL else self.entry

    def add(self, exit_nodes: tuple[Node, ...]) -> None:
        """An item was added; ``exit_nodes`` is what must be done for it to be done."""
        if self.mode is _SEQUENTIAL:
            if exit_nodes:
                self.cursor = exit_nodes
        else:
            self.exits.extend(exit_nodes)

    def exit(self) -> tuple[Node, ...]:
        """What must be done for the whole block to be done (one join for many)."""
        if self.mode is _SEQUENTIAL:
            return self.cursor
        if not self.exits:
            return self.entry
        if len(self.exits) == 1:
            return (self.exits[0],)
        return (self.compiler.join(tuple(self.exits)),)

    def plan(self) -> list[Plan]:
        """The items as plan data (worked out when asked for, never while building)."""
        out: list[Plan] = []
        for item in self.items:
            if isinstance(item, Node):
                call = item.call
                out.append({"step": item.taskname, "description": call.description,
                            "kwargs": call.kwargs})
            elif isinstance(item, _Block):
                entry: Plan = {item.mode.value: item.plan()}
                if item.description:
                    entry["description"] = item.description
                if item.data:
                    entry["kwargs"] = item.data
                out.append(entry)
            elif isinstance(item, ProcessRun):
                out.append(item.plan)
            else:
                out.append(item)
        return out


class _Compiler:
    """Compiles one process definition; a sub-process gets its own, sharing the session."""

    def __init__(self, session: Session, run: ProcessRun) -> None:
        self.session = session
        self.registry: dict[str, Any] = session.registry
        self.run = run
        self.iterations = 0
        self.functions: dict[Any, Any] = {}
        """What steps need to know of each callable (see ``stepping.function_facts``)."""
        self.steps, self.unclaimed = run.index.nodes, run.record_keys.unclaimed
        """Where each step goes: its process's steps, the tree's steps without a record key."""

    def unique(self, base: str) -> str:
        """``base``, or ``base #n`` if a node of that name exists in this run already."""
        registry = self.registry
        if base not in registry:
            return base
        counters = self.session.counters
        n = counters.get(base, 1)
        while True:
            n += 1
            name = f"{base} #{n}"
            if name not in registry:
                counters[base] = n
                return name

    def join(self, deps: tuple[Node, ...]) -> Node:
        name = self.unique(f"{self.run.name}: join")
        node = Node(name, NodeKind.JOIN, None, DEFAULT_OPTIONS, None, deps)
        self.session.registry[name] = node
        return node


class Builder:
    """What ``define_process`` uses to describe a process.

    Each call adds to the block the builder stands for: ``task`` adds a step, the context
    managers ``sequential``/``concurrent``/``transform`` and the iterator ``each`` open
    sub-blocks, ``sub_process`` embeds another definition.
    """

    def __init__(self, compiler: _Compiler, block: _Block, scope: _Scope) -> None:
        self._compiler = compiler
        self._block = block
        self._scope = scope

    @property
    def kwargs(self) -> dict[str, Any]:
        """The arguments steps added here receive (after ``transform`` and ``each``)."""
        return dict(self._scope.kwargs)

    @property
    def options(self) -> Options:
        """The options the process was built with: attributes (``options.notify``, as in
        tasktronaut 0.3), or read like a dict."""
        note_read(ALL_OPTIONS)
        return Options(**self._compiler.run.options)

    @property
    def description(self) -> str | None:
        """The description steps added here inherit (from ``each``, ``transform`` or a
        block), as in tasktronaut 0.3."""
        return self._scope.description

    def option(self, name: str, default: Any = None) -> Any:
        """The value of option ``name``, or ``default`` if it was not given."""
        if not isinstance(name, str):
            raise ArgumentError(f"option name must be a string, got {short_repr(name)}",
                                name="option", value=name)
        note_read(name)
        return self._compiler.run.options.get(name, default)

    def expected_arguments(self, **expected: Any) -> None:
        """Check the process arguments now: presence and type (``None``: any type).

        ``Optional[...]`` arguments may be omitted and are then ``None``; generic containers
        are checked item by item; undeclared extra arguments are allowed.
        """
        check_expected(self._compiler.run.name, self._scope.kwargs, expected)

    def task(self, func: Any, description: str | None = None, *,
             inputs: dict[str, Any] | None = None, **options: Any) -> Node:
        """Add a step calling ``func`` (a method or any callable), or an asset-task node.

        ``inputs={"rows": self.load}`` passes an earlier step's result as the argument
        ``rows`` (the source may be a step's method, its name, or its node).
        ``always=True`` makes a cleanup step: it runs once the steps before it are over,
        whatever their outcome, and what follows still needs them to have succeeded.
        """
        block = self._block
        if type(func) is not MethodType:  # a step method needs none of these checks
            if isinstance(func, Node):
                return self._add_node(func)
            if isinstance(func, (TaskFunction, BoundTaskFunction)):
                raise ArgumentError(
                    f"builder.task got the task function {func!r}; call it with its "
                    "arguments to get a node", name="func", value=func,
                )
            if not callable(func):
                raise ArgumentError(f"builder.task needs a callable or a node, got {func!r}",
                                    name="func", value=func)
        cleanup_of = block.requires() if options and options.get("always") else ()
        node = make_step(self, func, description, options, inputs)
        before = block.pending_exit
        if before or cleanup_of:
            block.pending_exit = ()
            block.add((*cleanup_of, *before, node))  # after a cleanup: what it followed too
        elif block.mode is _SEQUENTIAL:
            block.cursor = (node,)
        else:
            block.exits.append(node)
        return node

    def _add_node(self, node: Node) -> Node:
        """``task(node)``: an asset task (or any node) joins this block."""
        block = self._block
        before = block.requires()
        add_requirements(node, before)
        waits = node._deps is not None and all(b in node._deps for b in before)
        block.add((node,) if waits else (*before, node))
        block.items.append({"task": node.taskname})
        return node

    @contextmanager
    def sequential(self, description: str | None = None) -> Iterator[Builder]:
        """A block whose steps run one after another."""
        child = self._open(_SEQUENTIAL, None, description)
        try:
            yield child
        finally:
            self._close(child)

    @contextmanager
    def concurrent(self, description: str | None = None) -> Iterator[Builder]:
        """A block whose steps may run at the same time, all after what came before."""
        child = self._open(ExecutionMode.CONCURRENT, None, description)
        try:
            yield child
        finally:
            self._close(child)

    @contextmanager
    def transform(self, func: Callable[..., Any],
                  description: str | None = None) -> Iterator[Builder]:
        """Steps inside see the arguments merged with what ``func`` returns.

        ``func`` receives the arguments its signature accepts and returns a dict, or a
        ``(dict, description)`` pair.
        """
        phase = f"in transform {callable_name(func, self._compiler.run.definition)}"
        produced = user_code(phase, call_with, func, self._scope.kwargs, "transform")
        data, item_description = check_item(produced, func, "transform")
        child = self._open(self._block.mode, data, item_description or description,
                           item_key(data))
        try:
            yield child
        finally:
            self._close(child)

    def each(self, func: Callable[..., Any], description: str | None = None,
             key: Callable[..., Any] | str | None = None, *, dynamic: bool = False,
             limit: int | None = None) -> Iterator[Builder]:
        """One sub-block per item ``func`` yields: a dict, a ``(dict, description)`` pair or a
        ``(dict, description, key)`` triple.

        Iterations follow the mode of the block around them; steps inside an iteration see
        the arguments merged with the item. What a state store records for the steps of an
        item is keyed by the item's content (its dict as canonical JSON), or by its key:
        the third element of a triple, or ``key`` (an item field's name, or a function
        called with the item's arguments). Reordering, inserting or removing items then
        resumes exactly the items that match.

        ``dynamic=True`` fans out at run time, over what earlier steps produced: the loop
        body runs once, as a template, and is added once per item when the steps before
        the block have completed (``func`` may take ``context`` to read their results; at
        most ``limit`` items, 10,000 by default). See :mod:`tasktronaut.define.dynamic`.
        """
        if dynamic:
            return dynamic_each(self, func, description, key, limit)  # type: ignore[return-value]
        return static_each(self, func, description, key)

    def _open(self, mode: ExecutionMode, data: dict[str, Any] | None,
              description: str | None, segment: str | dict[str, Any] | None = None) -> Builder:
        """A builder for a sub-block, in ``mode``, seeing the arguments merged with ``data``;
        ``segment`` is the item's part of its steps' record keys (or the item itself, keyed
        by its content when a record key is first asked for)."""
        scope, compiler, outer = self._scope, self._compiler, self._block
        entry = outer.cursor if outer.mode is _SEQUENTIAL else outer.entry
        block = _Block(compiler, mode, entry, data, description)
        number = 0
        if data is not None:  # an each iteration or a transform: steps inside know it
            compiler.iterations += 1
            number = compiler.iterations
        description = description or scope.description
        if data:
            child = _Scope({**scope.kwargs, **data}, description, (*scope.items, data), scope,
                           segment, number)
        else:
            child = _Scope(scope.kwargs, description, scope.items, scope, segment, number,
                           scope._label)
        return Builder(compiler, block, child)

    def _close(self, child: Builder) -> None:
        """The sub-block is complete: it is one item of this block."""
        block, parent = child._block, self._block
        exits = block.exits
        if len(exits) == 1 and parent.mode is block.mode is _CONCURRENT:
            parent.exits.append(exits[0])  # one step in a side-by-side iteration: no join
        else:
            parent.add(block.exit())
        parent.items.append(block)

    def sub_process(self, definition: type[ProcessDefinition],
                    description: str | None = None) -> Node:
        """Embed another process definition, with its own execution mode and hooks."""
        is_definition = getattr(definition, "__tasktronaut_process__", False)
        if not (isinstance(definition, type) and is_definition):
            raise ArgumentError(
                f"sub_process needs a ProcessDefinition subclass, got {definition!r}",
                name="definition", value=definition,
            )
        compiler, block, run = self._compiler, self._block, self._compiler.run
        label = description or definition.description or definition.__name__
        path = (*run.path, *self._scope.path, label)
        key = run.claim(" / ".join(path))
        node = _compile(
            definition, run.identifier, run.options, self._scope.kwargs,
            compiler.session, run, block.requires(), description, (key,),
        )
        block.add((node,))
        block.items.append(node.hooks)
        return node


def build_process(definition: type[ProcessDefinition], identifier: str | None,
                  options: Any, kwargs: dict[str, Any]) -> Node:
    """Compile ``definition`` into nodes; inside another graph's build, join that graph.

    ``options`` is a dict or (as in tasktronaut 0.3) a ``SimpleNamespace``.
    """
    if isinstance(options, SimpleNamespace):
        options = vars(options)
    if options is not None and not isinstance(options, Mapping):
        raise ArgumentError(
            f"options must be a dict (or SimpleNamespace) of option values, got "
            f"{short_repr(options)}", name="options", value=options)
    if identifier is not None and not isinstance(identifier, str):
        raise ArgumentError(f"identifier must be a string, got {short_repr(identifier)}",
                            name="identifier", value=identifier)
    options = dict(options or {})
    session = current_session.get()
    if session is not None:
        key = (definition, identifier, repr(sorted(options.items())), repr(sorted(kwargs.items())))
        node: Node | None = session.processes.get(key)
        if node is None:
            node = session.processes[key] = _compile(
                definition, identifier, options, kwargs, session)
        return node
    session = Session(log=current_log.get() or RunLog())  # a nested build logs like its run
    root = session.build(lambda: _compile(definition, identifier, options, kwargs, session))
    root._rebuild = functools.partial(build_process, definition, identifier, options, kwargs)
    root._session = session
    return root


def _compile(definition: type[ProcessDefinition], identifier: str | None,
             options: dict[str, Any], kwargs: dict[str, Any], session: Session,
             parent: ProcessRun | None = None, entry: tuple[Node, ...] = (),
             description: str | None = None, path: tuple[str, ...] = ()) -> Node:
    instance = definition()
    mode = execution_mode(definition)
    label = description or definition.description or definition.__name__
    generated = parent.generated_identifier if parent is not None else identifier is None
    run = ProcessRun(instance, identifier or GeneratedId(uuid.uuid4().hex), "", options, parent,
                     path=path, key=" / ".join(path) if path else label)
    run.generated_identifier = generated
    if parent is None:
        run.arguments = arguments_of(kwargs, options)
    if identifier and parent is None:  # only an identifier the user gave names the process
        label = f"{label} [{identifier}]"
    compiler = _Compiler(session, run)
    run.name = name = compiler.unique(label)
    session.registry[name] = None
    run.block = block = _Block(compiler, mode, entry)
    user_code(f"in {definition.__qualname__}.define_process", instance.define_process,
              Builder(compiler, block, _Scope(dict(kwargs))))
    node = ProcessNode(name, NodeKind.PROCESS, None, DEFAULT_OPTIONS, None, block.exit(), None,
                       complete_process, None, None, run)
    session.registry[name] = node
    if parent is not None:
        parent.children.append(run)
    return node
