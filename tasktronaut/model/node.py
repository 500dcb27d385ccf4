"""The graph model: nodes, identity, traversal, readiness, and the ref/ready helpers.

Both ways of describing work (asset-task functions and process definitions) compile into
:class:`Node` objects. A node has a name (its identity: nodes compare and hash by name), its
assets, its requirements and, for tasks and steps, an action. Readiness drives everything: a
node whose assets are ready is done and its requirements are never expanded.

Requirements are expanded lazily and iteratively (:func:`walk`), never by recursion, so a
chain of any length builds without touching Python's recursion limit.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import Any, Union

from tasktronaut.errors import CycleError, ProtocolError, TasktronautError
from tasktronaut.model.assets import Asset, AssetT, flatten_assets, observe
from tasktronaut.model.control import RunControl
from tasktronaut.model.freshness import expand_ready, stale
from tasktronaut.model.options import DEFAULT_OPTIONS, TaskOptions
from tasktronaut.model.protocols import NodeHooks

ReqT = Union["Node", list["Node"], dict[str, "Node"], None]


class NodeKind(enum.Enum):
    """What a node stands for."""

    TASK = "task"
    COLLECTION = "collection"
    EXTERNAL = "external"
    STEP = "step"
    PROCESS = "process"
    JOIN = "join"



class NodeStatus(enum.Enum):
    """Where a node stands in a run.

    ``NEW`` -> ``ALREADY_READY`` (ready when built; never scheduled) or, once visited,
    ``READY``, ``NOT_READY`` (blocked, external, or the action did not make it ready),
    ``FAILED`` (the action raised), ``CANCELLED`` (it raised ``CancelProcessError``) or
    ``SKIPPED`` (never started: interrupted, cancelled, or stopped after a failure).
    """

    NEW = "new"
    ALREADY_READY = "already ready"
    READY = "ready"
    NOT_READY = "not ready"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"


_TASK, _EXTERNAL = NodeKind.TASK, NodeKind.EXTERNAL
_ALREADY = NodeStatus.ALREADY_READY
ActionFn = Callable[["Node"], Any]
ExpandFn = Callable[["Node"], ReqT]


class Node(RunControl):
    """One unit of work in the graph; identity (equality and hash) is the task name.

    Public properties mirror iotaa: ``taskname``, ``asset``, ``ref``, ``ready``, ``req`` and
    ``graph``. ``status``, ``result``, ``error`` and ``attempt`` tell what happened to it in
    its last run; running and cancelling come from :class:`RunControl`.

    Nodes are created once per task per run and sit on the engine's hot path, so this is a
    hand-written slotted class: every slot is set in ``__init__`` from constants, which is
    about twice as fast as a generated initialiser looking up per-field defaults.
    """

    __slots__ = (
        "_action",
        "_asset",
        "_dependents",
        "_deps",
        "_expander",
        "_gen",
        "_mark",
        "_pending",
        "_ready",
        "_rebuild",
        "_req",
        "_session",
        "attempt",
        "call",
        "error",
        "hooks",
        "kind",
        "options",
        "result",
        "status",
        "taskname",
    )

    def __init__(
        self,
        taskname: str,
        kind: NodeKind = NodeKind.TASK,
        asset: AssetT = None,
        options: TaskOptions = DEFAULT_OPTIONS,
        req: ReqT = None,
        deps: tuple[Node, ...] | None = None,
        gen: Generator[Any, Any, Any] | None = None,
        action: ActionFn | None = None,
        expander: ExpandFn | None = None,
        call: Any = None,
        hooks: NodeHooks | None = None,
    ) -> None:
        self.taskname = taskname
        self.kind = kind
        self._asset = asset
        self.options = options
        self._req = req
        self._deps = deps
        self._gen = gen
        self._action = action
        self._expander = expander
        self.call = call
        self.hooks = hooks
        self._rebuild: Callable[[], Node] | None = None
        self._session: Any = None
        self.status = NodeStatus.NEW
        self.result: Any = None
        self.error: BaseException | None = None
        self.attempt = 1
        self._ready: bool | None = None
        self._pending = 0
        self._dependents: Node | list[Node] | None = None
        self._mark: object = None

    def __hash__(self) -> int:
        return hash(self.taskname)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Node):
            return self.taskname == other.taskname
        return NotImplemented

    def __repr__(self) -> str:
        return f"<Node {self.taskname!r} {self.kind.value} {self.status.value}>"

    def __str__(self) -> str:
        """``name <id>``, as iotaa prints a node."""
        return f"{self.taskname} <{id(self)}>"

    @property
    def root(self) -> bool:
        """Whether this node is the root of the graph it was built in (as in iotaa)."""
        session = self._session
        return session is not None and session.root is self

    @property
    def asset(self) -> AssetT:
        """The node's asset(s), in the shape the task yielded them."""
        if self.kind is NodeKind.COLLECTION:
            return [a for d in self._expanded_deps() for a in flatten_assets(d.asset)]
        return self._asset

    @property
    def ref(self) -> Any:
        """The reference(s) of the node's asset(s), keeping their shape."""
        return ref(self.asset)

    @property
    def req(self) -> ReqT:
        """The node's requirement(s) that were not ready when the graph was built, in the
        shape the task yielded them (as in iotaa, which leaves ready ones out)."""
        deps = self._expanded_deps()
        req = self._req
        if req is None:
            return [d for d in deps if d.status is not _ALREADY] if deps else None
        if isinstance(req, Node):
            return None if req.status is _ALREADY else req
        if isinstance(req, dict):
            return {k: v for k, v in req.items() if v is None or v.status is not _ALREADY}
        return [r for r in req if r is None or r.status is not _ALREADY]

    @property
    def ready(self) -> bool:
        """Whether the node's assets are ready (a collection: all its requirements)."""
        value = self._ready
        if value is None:
            value = self._ready = self._observe()
        return value

    @property
    def graph(self) -> str:
        """The graph below this node as Graphviz DOT."""
        from tasktronaut.model.report import to_dot

        return to_dot(self)

    def _observe(self) -> bool:
        kind = self.kind
        if kind is NodeKind.COLLECTION or kind is NodeKind.JOIN:
            for dep in self._expanded_deps():  # a known readiness is read, not asked for
                if dep._ready is not True and not dep.ready:
                    return False
            return True
        if (kind is NodeKind.STEP or kind is NodeKind.PROCESS) and self._asset is None:
            return False
        try:
            return observe(self._asset)
        except TasktronautError:
            raise
        except Exception as e:
            raise TasktronautError(
                f"Task '{self.taskname}': asset readiness check raised {type(e).__name__}: {e}"
            ) from e

    def _expanded_deps(self) -> tuple[Node, ...]:
        deps = self._deps
        if deps is None:
            deps = self._expand()
        return deps

    def _expand(self) -> tuple[Node, ...]:
        """Obtain the requirements (advancing the task function when needed)."""
        expander = self._expander
        if expander is None:
            self._deps = ()
            return ()
        self._expander = None
        req = expander(self)
        self._req = req
        deps = self._deps = flatten_reqs(req, self.taskname)
        return deps

    def _release(self) -> None:
        """Drop the task function's suspended frame once it can no longer run."""
        gen = self._gen
        if gen is not None:
            self._gen = None
            gen.close()



def check_assets(value: Any, task: str) -> AssetT:
    """Validate what a task yielded as its asset(s); raise naming the task if it is wrong."""
    if value is None or isinstance(value, Asset):
        return value
    items = value.values() if isinstance(value, dict) else value
    if isinstance(value, (list, dict)):
        for item in items:
            if not isinstance(item, Asset):
                raise ProtocolError(task, _asset_problem(item))
        return value
    raise ProtocolError(task, _asset_problem(value))


def _asset_problem(value: Any) -> str:
    if isinstance(value, Node):
        return f"yielded task '{value.taskname}' where an asset was expected"
    return (
        "expected an Asset, a list or dict of Assets, or None as asset(s), "
        f"got {type(value).__name__}: {value!r}"
    )


def flatten_reqs(value: Any, task: str) -> tuple[Node, ...]:
    """Validate what a task yielded as its requirement(s) and return them as a flat tuple."""
    if value is None:
        return ()
    if type(value) is list:  # the common shape: a list of nodes, checked without a new list
        for item in value:
            if type(item) is not Node:
                break
        else:
            return tuple(value)
    return _flatten_any(value, task)


def _flatten_any(value: Any, task: str) -> tuple[Node, ...]:
    """:func:`flatten_reqs` for every other shape: a node, a dict, a list or tuple with
    ``None`` items or nodes of a subclass; anything else is a protocol error."""
    if isinstance(value, Node):
        return (value,)
    items: Iterable[Any]
    if isinstance(value, dict):
        items = value.values()
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        raise ProtocolError(task, _req_problem(value))
    out = []
    for item in items:
        if isinstance(item, Node):
            out.append(item)
        elif item is not None:
            raise ProtocolError(task, _req_problem(item))
    return tuple(out)


def _req_problem(value: Any) -> str:
    if callable(value) and hasattr(value, "build"):
        return f"yielded the task function {value!r} itself as a requirement; call it"
    return (
        "expected a task (Node), a list or dict of tasks, or None as requirement(s), "
        f"got {type(value).__name__}: {value!r}"
    )


def walk(root: Node) -> list[Node]:
    """Expand the graph below ``root`` and return its nodes, requirements before dependents.

    Nodes whose assets are ready are leaves (their requirements are never expanded) and are
    marked ``ALREADY_READY``. Raises :class:`CycleError` naming the cycle if there is one.
    """
    gray, black = object(), object()
    order: list[Node] = []
    root._mark = gray
    stack: list[tuple[Node, Iterator[Node]]] = [(root, iter(_children(root)))]
    while stack:
        node, children = stack[-1]
        for child in children:
            mark = child._mark
            if mark is black:
                continue
            if mark is gray:
                raise CycleError(_cycle_path(stack, child))
            grandchildren = _children(child)
            if not grandchildren:
                child._mark = black
                order.append(child)
                continue
            child._mark = gray
            stack.append((child, iter(grandchildren)))
            break
        else:
            stack.pop()
            node._mark = black
            order.append(node)
    return order


def _children(node: Node) -> tuple[Node, ...]:
    deps = node._deps
    if deps is not None:
        return deps
    kind = node.kind
    if kind is _TASK or kind is _EXTERNAL or (kind is NodeKind.STEP and node._asset is not None):
        ready = node._ready
        if ready is None:
            asset = node._asset
            if type(asset) is Asset:
                try:
                    ready = node._ready = bool(asset.ready())
                except Exception:
                    ready = node._ready = node._observe()
            else:
                ready = node._ready = node._observe()
        if ready and node.options.stale_if is not None and stale(node):
            node._ready = False  # a freshness trigger (model/freshness.py) says so
            return node._expanded_deps()
        if ready and not expand_ready.get():
            node.status = NodeStatus.ALREADY_READY
            node._expander = None
            node._release()
            node._deps = ()
            return ()
    expander = node._expander
    if expander is None:
        node._deps = ()
        return ()
    node._expander = None
    req = node._req = expander(node)
    deps = node._deps = () if req is None else flatten_reqs(req, node.taskname)
    return deps


def _cycle_path(stack: list[tuple[Node, Iterator[Node]]], child: Node) -> list[str]:
    names = [n.taskname for n, _ in stack]
    start = len(names) - 1 - names[::-1].index(child.taskname)
    return [*names[start:], child.taskname]


def add_requirements(node: Node, extra: tuple[Node, ...]) -> None:
    """Make ``node`` also require ``extra`` (unless it is ready already); used to put an
    asset task into a process sequence."""
    deps = _children(node)
    if extra and node.status is not NodeStatus.ALREADY_READY:
        node._deps = deps + tuple(e for e in extra if e is not node)


def traverse(root: Node) -> Iterator[Node]:
    """Every node reachable from ``root`` through expanded requirements, each once."""
    seen = {id(root)}
    todo = [root]
    while todo:
        node = todo.pop()
        yield node
        for dep in node._deps or ():
            if id(dep) not in seen:
                seen.add(id(dep))
                todo.append(dep)


def asset(node: Node | None) -> AssetT:
    """The asset(s) of ``node`` (``None`` for ``None``)."""
    return node.asset if node is not None else None


def ref(obj: Node | AssetT) -> Any:
    """The reference(s) of a node's or an asset collection's asset(s), keeping the shape."""
    value = obj.asset if isinstance(obj, Node) else obj
    if isinstance(value, Asset):
        return value.ref
    if isinstance(value, dict):
        return {k: v.ref for k, v in value.items()}
    if isinstance(value, list):
        return [a.ref for a in value]
    return None


def ready(node: Node) -> bool:
    """Whether ``node``'s assets are ready."""
    return node.ready


def req(node: Node) -> ReqT:
    """The requirement(s) of ``node``."""
    return node.req


def graph(node: Node) -> str:
    """The graph below ``node`` as Graphviz DOT (ready nodes green, others orange)."""
    return node.graph


def reobserve(node: Node) -> bool:
    """Observe a node's assets again after its action; a check that raises names the task."""
    try:
        if node.kind is NodeKind.TASK:
            ready: bool = observe(node._asset)
            node._ready = ready
            return ready
        node._ready = None
        return node.ready
    except TasktronautError:
        node._ready = False
        raise
    except Exception as e:
        node._ready = False
        raise readiness_error(e) from e


def readiness_error(error: BaseException) -> TasktronautError:
    """The error for an asset readiness check that raised."""
    return TasktronautError(f"asset readiness check raised {type(error).__name__}: {error}")
