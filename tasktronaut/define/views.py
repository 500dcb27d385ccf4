"""What a built process shows of itself, in tasktronaut 0.3's shapes.

0.3's ``build()`` returned a process object whose ``steps`` list held ``Step`` objects
(``func``, ``kwargs``, ``description``) and nested processes for blocks and sub-processes;
users' tests inspect it. :class:`ProcessNode` is still a graph :class:`~tasktronaut.Node` (it
runs like any other) and adds that view, worked out from the compiled plan when asked for.
``each`` and ``transform`` add their steps to the enclosing block, as in 0.3.

:class:`Options` is the builder's options: a ``SimpleNamespace`` (0.3's type) that also reads
like a dict (``options["notify"]``, ``options.get("notify")``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import SimpleNamespace
from typing import Any

import attrs

from tasktronaut.model.node import Node, NodeKind, traverse


class GeneratedId(str):
    """An identifier generated for a process built without one (``uuid4().hex``, as in
    tasktronaut 0.3); log lines leave it out, and a state store refuses it."""

    __slots__ = ()


class Options(SimpleNamespace):
    """Process options: attributes as in tasktronaut 0.3, and the read side of a dict."""

    def __getitem__(self, name: str) -> Any:
        return self.__dict__[name]

    def __contains__(self, name: object) -> bool:
        return name in self.__dict__

    def __iter__(self) -> Iterator[str]:
        return iter(self.__dict__)

    def __len__(self) -> int:
        return len(self.__dict__)

    def get(self, name: str, default: Any = None) -> Any:
        """The value of option ``name``, or ``default``."""
        return self.__dict__.get(name, default)

    def keys(self) -> Any:
        return self.__dict__.keys()

    def items(self) -> Any:
        return self.__dict__.items()

    def values(self) -> Any:
        return self.__dict__.values()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self.__dict__) == dict(other)
        return super().__eq__(other)

    __hash__ = None


@attrs.frozen
class StepView:
    """One step as tasktronaut 0.3 showed it: the callable, its arguments, its description."""

    func: Any
    kwargs: dict[str, Any]
    description: str | None
    name: str
    node: Node | None = attrs.field(repr=False, eq=False)

    @property
    def is_process(self) -> bool:
        return False


@attrs.frozen
class BlockView:
    """A block or sub-process: its mode and its steps (``StepView`` or ``BlockView``)."""

    mode: str
    steps: list[StepView | BlockView]
    description: str | None = None
    name: str | None = None

    @property
    def is_process(self) -> bool:
        return True


class ProcessNode(Node):
    """The root node of a built process: a :class:`~tasktronaut.Node` with ``steps``."""

    __slots__ = ()

    @property
    def identifier(self) -> str | None:
        """The process identifier (generated when none was given)."""
        return getattr(self.hooks, "identifier", None)

    @property
    def steps(self) -> list[StepView | BlockView]:
        """The steps of this process, as in tasktronaut 0.3 (``process.steps[i].func``)."""
        nodes = {n.taskname: n for n in traverse(self) if n.kind is NodeKind.STEP}
        plan = getattr(self.hooks, "plan", {})
        return _views(plan.get("steps", []), nodes)


def _views(items: list[dict[str, Any]], nodes: dict[str, Node]) -> list[StepView | BlockView]:
    out: list[StepView | BlockView] = []
    for item in items:
        if "step" in item:
            node = nodes.get(item["step"])
            func = getattr(node.call, "function", None) if node is not None else None
            out.append(StepView(func, dict(item.get("kwargs", {})), item.get("description"),
                                item["step"], node))
        elif "process" in item:
            out.append(BlockView(item["mode"], _views(item["steps"], nodes), None,
                                 item["process"]))
        elif "task" in item:
            continue
        else:
            mode = "sequential" if "sequential" in item else "concurrent"
            inner = _views(item[mode], nodes)
            if "kwargs" in item:  # an each iteration or a transform: steps join this block
                out.extend(inner)
            else:
                out.append(BlockView(mode, inner, item.get("description")))
    return out
