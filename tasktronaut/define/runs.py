"""One compiled process while it is built and run: :class:`ProcessRun`, with what it keeps
about its steps for later.

A step's record key matters only to a state store, and the index of steps by function and
by ``each`` iteration only to ``context.result`` and to ``inputs=`` naming a function. Both
are worked out when first asked for (:class:`RecordKeys`, :class:`StepIndex`), not once per
step while the process is built, so that a process of many steps costs what its nodes cost.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

from tasktronaut.errors import ArgumentError
from tasktronaut.model.assets import Asset
from tasktronaut.model.node import Node
from tasktronaut.model.protocols import NodeHooks

if TYPE_CHECKING:
    from tasktronaut.define.process import ProcessDefinition

ALWAYS: Callable[[], bool] = lambda: True  # noqa: E731
"""The readiness of a step's result: it is there once the step returned."""


def function_key(func: Any) -> str:
    """A name for the function behind a step that is the same in every process."""
    target = getattr(func, "__func__", func)
    try:
        return _function_key(target)
    except TypeError:  # not hashable: work it out every time
        return _function_key.__wrapped__(target)


@functools.lru_cache(maxsize=4096)
def _function_key(target: Any) -> str:
    module = getattr(target, "__module__", None) or ""
    return f"{module}:{getattr(target, '__qualname__', None) or repr(target)}"


class RecordKeys:
    """The record keys of one process tree (a top process and its sub-processes).

    A key is a path in the tree: the process's path, the ``each`` items in scope, the step's
    description. Identical paths can only be told apart by order, so the n-th identical one
    gets `` #n``. Steps wait in ``unclaimed`` (anything with ``key_base()``, ``run`` and
    ``claimed(key)``) and are claimed in the order they were made whenever a key is first
    asked for: the same keys as claiming each one when it is made, at no cost per step
    until a state store wants them.
    """

    __slots__ = ("claimed", "unclaimed")

    def __init__(self) -> None:
        self.claimed: set[str] = set()
        self.unclaimed: list[Any] = []

    def claim(self, base: str, keys: list[str]) -> str:
        """A key unique in the tree for ``base`` (after the steps made before it); it is
        added to ``keys``, the keys of the process it belongs to."""
        self.settle()
        return self._claim(base, keys)

    def settle(self) -> None:
        """Claim the keys of the steps made so far, in the order they were made."""
        pending = self.unclaimed
        for step in pending:
            step.claimed(self._claim(step.key_base(), step.run.own_keys))
        pending.clear()

    def _claim(self, base: str, keys: list[str]) -> str:
        claimed = self.claimed
        key, n = base, 1
        while key in claimed:
            n += 1
            key = f"{base} #{n}"
        claimed.add(key)
        keys.append(key)
        return key


class StepIndex:
    """The steps of one process by the function they call (``origin``, the one it was built
    with) and by the iterations they are in; indexed when asked for."""

    __slots__ = ("_by_function", "_indexed", "_scopes", "nodes")

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        """The step nodes, in build order."""
        self._by_function: dict[str, list[str]] = {}
        self._scopes: dict[str, tuple[int, ...]] = {}
        self._indexed = 0

    def by_function(self) -> dict[str, list[str]]:
        self._index()
        return self._by_function

    def scopes(self) -> dict[str, tuple[int, ...]]:
        self._index()
        return self._scopes

    def _index(self) -> None:
        nodes = self.nodes
        if self._indexed == len(nodes):
            return
        by_function, scopes = self._by_function, self._scopes
        for node in nodes[self._indexed:]:
            call = node.call
            by_function.setdefault(function_key(call.origin), []).append(node.taskname)
            if call.scope.iteration:
                scopes[node.taskname] = call.scope.iteration
        self._indexed = len(nodes)


@attrs.define(eq=False)
class ProcessRun(NodeHooks):
    """One compiled process: its definition instance, results, and lifecycle state."""

    definition: ProcessDefinition
    identifier: str | None
    name: str
    options: dict[str, Any]
    parent: ProcessRun | None = None
    results: dict[str, Any] = attrs.field(factory=dict)
    assets: dict[str, Asset] = attrs.field(factory=dict)
    """The asset of each step's result, by step name (see :meth:`keep`)."""
    children: list[ProcessRun] = attrs.field(factory=list)
    started: bool = False
    generated_identifier: bool = False
    path: tuple[str, ...] = ()
    """Where this process sits in the top one: the record-key segments of its steps."""
    key: str = ""
    """The record key of this process's own completion."""
    arguments: dict[str, str] = attrs.field(factory=dict)
    """The top process's arguments and options as canonical text (its fingerprint)."""
    watches_changes: bool = False
    """Whether a step of the top process has ``stale_if="changed"`` (set on the top)."""
    wrapped: bool = False
    """Whether the definition overrides ``around_task`` (known once the process started)."""
    block: Any = None
    """The compiled top block: its items give the plan when it is asked for."""
    index: StepIndex = attrs.field(factory=StepIndex)
    record_keys: RecordKeys = attrs.field(factory=RecordKeys)
    """The record keys of the process tree (shared with the sub-processes)."""
    own_keys: list[str] = attrs.field(factory=list)
    """The record keys claimed so far of this process's steps and sub-processes."""
    _recorded: dict[int, dict[str, Any]] = attrs.field(factory=dict)
    cancel_event: threading.Event = attrs.field(factory=threading.Event)
    _lock: threading.Lock = attrs.field(factory=threading.Lock)

    def __attrs_post_init__(self) -> None:
        parent = self.parent
        if parent is not None:  # one process tree: one cancel flag, one set of record keys
            self.cancel_event, self.record_keys = parent.cancel_event, parent.record_keys

    def keep(self, name: str, result: Any) -> Asset:
        """Keep a step's result (later steps read it) with the asset it is the ref of."""
        self.results[name] = result
        asset = self.assets[name] = Asset(result, ALWAYS)
        return asset

    def result_assets(self) -> dict[str, Asset]:
        """The process node's asset: the asset of each result, in the order they came (a
        sub-process's result is the dict of its own)."""
        assets = self.assets
        return {k: assets.get(k) or Asset(v, ALWAYS) for k, v in self.results.items()}

    @property
    def top(self) -> ProcessRun:
        """The top-level process this one belongs to."""
        run = self
        while run.parent is not None:
            run = run.parent
        return run

    @property
    def keys(self) -> list[str]:
        """The record keys of this process's steps and sub-processes."""
        self.record_keys.settle()
        return self.own_keys

    def claim(self, base: str) -> str:
        """A record key unique in the top process: ``base``, or ``base #n`` for the n-th
        identical one (see :class:`RecordKeys`)."""
        return self.record_keys.claim(base, self.own_keys)

    @property
    def steps_by_function(self) -> dict[str, list[str]]:
        """The names of this process's steps, by the function they call."""
        return self.index.by_function()

    @property
    def scopes(self) -> dict[str, tuple[int, ...]]:
        """The ``each``/``transform`` iterations each step is in, by step name."""
        return self.index.scopes()

    @property
    def plan(self) -> dict[str, Any]:
        """The compiled plan as plain data (see ``tasktronaut.testing.plan``)."""
        block = self.block
        if block is None:
            return {}
        return {"process": self.name, "mode": block.mode.value, "steps": block.plan()}

    def ensure_started(self) -> None:
        """Fire ``on_started`` once (the parents first)."""
        if self.parent is not None:
            self.parent.ensure_started()
        with self._lock:
            first = not self.started
            if first:  # known before any step can see ``started``
                self.wrapped = not getattr(type(self.definition).around_task,
                                           "__tasktronaut_default__", False)
                self.started = True
        if first:
            self.definition.on_started(self.identifier)

    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def cancel(self, node: Node, error: BaseException) -> bool:
        self.cancel_tree()
        return True

    def recorded(self, store: Any) -> dict[str, Any]:
        """What ``store`` holds for this process's identifier (read once per run).

        A run's records (see ``tasktronaut.engine.records``) also check that they were made
        with the same arguments, and hold the identifier's lease for the run.
        """
        if self.identifier is None or self.generated_identifier:
            raise ArgumentError(
                f"{self.name}: a state store records progress per process identifier; "
                "give the process one (build(identifier=...) or --id)",
                name="identifier",
            )
        top = self.top
        cached = top._recorded.get(id(store))
        if cached is None:
            begin = getattr(store, "begin", None)
            cached = top._recorded[id(store)] = (
                begin(self.identifier, top.arguments, top.name) if begin is not None
                else store.completed(self.identifier))
        return cached

    def restore(self, node: Node, store: Any) -> bool:
        """The process node itself: done if its completion was recorded."""
        recorded = self.recorded(store)
        if self.key not in recorded or any(k not in recorded for k in self.keys):
            return False
        node._asset = self.result_assets()
        if self.parent is not None:
            self.parent.results[node.taskname] = dict(self.results)
        return True

    def record(self, node: Node, store: Any) -> None:
        """Record that the whole process completed (its steps' results are recorded each)."""
        assert self.identifier is not None
        store.record(self.identifier, self.key, "completed")

    def cancel_tree(self) -> None:
        """Cancel the top-level process: flag it, then ``on_cancelled`` for started parts."""
        top = self.top
        with top._lock:
            if top.cancel_event.is_set():
                return
            top.cancel_event.set()
        todo = [top]
        while todo:
            run = todo.pop()
            if run.started:
                run.definition.on_cancelled(run.identifier)
            todo.extend(run.children)

    def result_of(self, step: Any, caller: str | None = None) -> Any:
        """The result of an earlier step of this process, by name or by function.

        Asked by a step inside an ``each`` iteration, a function used once per iteration
        means that iteration's step (or one in an iteration around it).
        """
        if isinstance(step, str):
            if step not in self.results:
                raise KeyError(f"no result for step '{step}' (completed: {list(self.results)})")
            return self.results[step]
        names = self.steps_by_function.get(function_key(step), [])
        if len(names) > 1 and caller is not None:
            here = self.scopes.get(caller, ())
            names = [n for n in names if here[:len(self.scopes.get(n, ()))]
                     == self.scopes.get(n, ())] or names
        done = [n for n in names if n in self.results]
        if len(names) > 1:
            raise ArgumentError(
                f"{getattr(step, '__qualname__', step)} is used by {len(names)} steps "
                f"({', '.join(names)}); ask for one by name",
                name="step",
            )
        if not done:
            raise KeyError(f"no result yet for {getattr(step, '__qualname__', step)!r}")
        return self.results[done[0]]
