"""``each(..., dynamic=True)``: fan out over what earlier steps produced, at run time.

The loop body runs once, while the process is built, against a :class:`Template` that
records what it asks for (steps, blocks, transforms, nested ``each``). The block becomes an
*expansion* node, after the steps before it, and a join that what follows waits for. When
the expansion runs, it calls the items function (which may take ``context`` to read
earlier results), replays the recording once per item with a real builder, and hands the
new nodes to the engine, which adds them to the running schedule before the join. Nothing
that is done runs again; with a state store, each item's steps are keyed by the item's
content (or its key), as for a static ``each``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from tasktronaut.define.signature import callable_name, signature_of
from tasktronaut.define.stepping import each_item
from tasktronaut.define.steps import Context
from tasktronaut.errors import ArgumentError
from tasktronaut.model.node import Node, NodeKind
from tasktronaut.model.options import DEFAULT_OPTIONS
from tasktronaut.model.protocols import Grown

if TYPE_CHECKING:
    from tasktronaut.define.builder import Builder

DEFAULT_LIMIT = 10_000
"""How many items a dynamic ``each`` may produce unless its ``limit=`` says otherwise."""

Recording = list[tuple[str, tuple[Any, ...], dict[str, Any], "Template | None"]]


class Template:
    """Stands for a builder inside a dynamic ``each``: records, builds nothing."""

    def __init__(self, options: Any) -> None:
        self.calls: Recording = []
        self._options = options

    def task(self, func: Any, description: str | None = None, **options: Any) -> None:
        """Record a step, added once per item at run time."""
        if isinstance(func, Node):
            raise ArgumentError("each(dynamic=True): a node made while the process is built "
                                "cannot be copied per item; call a step method instead",
                                name="func", value=func)
        self.calls.append(("task", (func, description), options, None))

    @contextmanager
    def sequential(self, description: str | None = None) -> Iterator[Template]:
        """Record a sequential block."""
        yield self._child("sequential", (description,), {})

    @contextmanager
    def concurrent(self, description: str | None = None) -> Iterator[Template]:
        """Record a concurrent block."""
        yield self._child("concurrent", (description,), {})

    @contextmanager
    def transform(self, func: Callable[..., Any],
                  description: str | None = None) -> Iterator[Template]:
        """Record a transform, applied to each item's arguments at run time."""
        yield self._child("transform", (func, description), {})

    def each(self, func: Callable[..., Any], description: str | None = None,
             key: Any = None) -> Iterator[Template]:
        """Record a (static) ``each`` inside the dynamic one: run per item at run time."""
        yield self._child("each", (func, description), {"key": key})

    def sub_process(self, definition: Any, description: str | None = None) -> None:
        """Record an embedded process, added once per item at run time."""
        self.calls.append(("sub_process", (definition, description), {}, None))

    def option(self, name: str, default: Any = None) -> Any:
        """Options are known while the process is built, as outside the template."""
        return getattr(self._options, name, default) if not isinstance(
            self._options, dict) else self._options.get(name, default)

    @property
    def kwargs(self) -> dict[str, Any]:
        raise ArgumentError("builder.kwargs is not known inside each(dynamic=True): the items "
                            "come at run time; steps receive each item's values as arguments",
                            name="kwargs")

    def _child(self, kind: str, args: tuple[Any, ...], options: dict[str, Any]) -> Template:
        child = Template(self._options)
        self.calls.append((kind, args, options, child))
        return child

    def plan(self) -> list[dict[str, Any]]:
        """The recording as plan data (for ``tasktronaut.testing.plan``)."""
        out: list[dict[str, Any]] = []
        for kind, args, _, child in self.calls:
            what = getattr(args[0], "__qualname__", None) or repr(args[0])
            entry: dict[str, Any] = {kind: what if kind != "sequential" and kind != (
                "concurrent") else args[0]}
            if child is not None:
                entry["steps"] = child.plan()
            out.append(entry)
        return out


def replay(template: Template, builder: Builder) -> None:
    """Do with ``builder`` what the template recorded."""
    for kind, args, options, child in template.calls:
        if kind == "task":
            builder.task(*args, **options)
        elif kind == "sub_process":
            builder.sub_process(*args)
        elif kind == "each":
            assert child is not None
            for item in builder.each(*args, **options):
                replay(child, item)
        else:
            assert child is not None
            with getattr(builder, kind)(*args) as inner:
                replay(child, inner)


class Expansion:
    """The action of a dynamic ``each``'s expansion node."""

    def __init__(self, builder: Builder, func: Callable[..., Any], description: str | None,
                 key: Any, limit: int, template: Template) -> None:
        self.builder, self.func, self.description = builder, func, description
        self.key, self.limit, self.template = key, limit, template
        self.join: Node | None = None

    def __call__(self, node: Node) -> Grown:
        builder = self.builder
        compiler = builder._compiler
        items = self._items(compiler.run)
        block = type(builder._block)(compiler, builder._block.mode, (node,))
        parent = type(builder)(compiler, block, builder._scope)
        registry = compiler.session.registry
        known = set(registry)
        session = compiler.session
        building, session.building = session.building, True
        try:
            for item in items:
                data, item_description, segment = each_item(item, self.key, self.func)
                child = parent._open(block.mode, data, item_description or self.description,
                                     segment)
                replay(self.template, child)
                parent._close(child)
            exits = block.exit()
        finally:
            session.building = building
        assert self.join is not None
        new = tuple(n for name, n in registry.items() if name not in known)
        return Grown(new, self.join, exits)

    def _items(self, run: Any) -> list[Any]:
        """Call the items function (with ``context`` if it takes one), within the limit."""
        scope = dict(self.builder._scope.kwargs)
        accepts_all, names, wants_context, _ = signature_of(self.func)
        kwargs = scope if accepts_all else {k: v for k, v in scope.items() if k in names}
        if wants_context:
            kwargs = {**kwargs, "context": Context(run.identifier, f"{run.name}: each",
                                                   "each", scope, run.options, 1, run)}
        found = self.func(**kwargs)
        items = []
        for item in found:
            items.append(item)
            if len(items) > self.limit:
                raise ArgumentError(
                    f"each(dynamic=True): {callable_name(self.func, run.definition)} produced "
                    f"more than {self.limit} items; raise limit= if that many are meant",
                    name="limit", value=self.limit)
        return items


def dynamic_each(builder: Builder, func: Callable[..., Any], description: str | None,
                 key: Any, limit: int | None) -> Iterator[Template]:
    """``builder.each(func, dynamic=True)``: yield a template, then wire the expansion."""
    limit = DEFAULT_LIMIT if limit is None else limit
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ArgumentError(f"each: limit must be a whole number >= 0, got {limit!r}",
                            name="limit", value=limit)
    template = Template(builder._compiler.run.options)
    yield template
    compiler, block = builder._compiler, builder._block
    expansion = Expansion(builder, func, description, key, limit, template)
    label = callable_name(func, compiler.run.definition)
    name = compiler.unique(f"{compiler.run.name}: each {label}")
    expand = Node(name, NodeKind.JOIN, None, DEFAULT_OPTIONS, None, block.requires(), None,
                  expansion)
    compiler.session.registry[name] = expand
    join = compiler.unique(f"{compiler.run.name}: each {label} done")
    expansion.join = compiler.session.registry[join] = Node(
        join, NodeKind.JOIN, None, DEFAULT_OPTIONS, None, (expand,))
    block.add((expansion.join,))
    block.items.append({"each": label, "dynamic": True, "expanded": "at run time",
                        "template": template.plan()})
