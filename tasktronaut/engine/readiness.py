"""What a run will do and why: forced nodes, freshness, and the one reason per node.

``force`` names nodes to treat as not ready for one run, whatever their assets say; the
ready nodes between the root and a forced node are passed through (not run again), and
``force_downstream`` also treats everything that requires a forced node as not ready. To
find forced nodes below ready ones, the graph is built again with every node expanded
(:data:`~tasktronaut.model.freshness.expand_ready`); nothing is deleted and no action runs
before the run itself.

A run with a state store whose graph has ``stale_if="changed"`` tasks is built again with
the fingerprints the store recorded (:data:`~tasktronaut.model.freshness.recorded`), so
those tasks are judged by them (:func:`prepare`).

:func:`why` runs nothing: it answers, per node, what a run would do with it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from tasktronaut.engine import records
from tasktronaut.engine.records import FORCED
from tasktronaut.engine.settings import RunSettings, names
from tasktronaut.errors import ArgumentError
from tasktronaut.logs import RunLog
from tasktronaut.model import freshness
from tasktronaut.model.freshness import expand_ready
from tasktronaut.model.node import Node, NodeKind, NodeStatus, walk
from tasktronaut.model.options import DEFAULT_OPTIONS
from tasktronaut.state import open_store

_PRUNABLE = (NodeKind.TASK, NodeKind.EXTERNAL, NodeKind.STEP)


def rebuild_expanded(root: Node) -> Node:
    """``root``'s graph built again with ready nodes expanded too."""
    if root._rebuild is None:
        raise ArgumentError(f"force: '{root.taskname}' was not made by build(); force works "
                            "on a root made by Definition.build() or task.build()",
                            name="force")
    token = expand_ready.set(True)
    try:
        return root._rebuild()
    finally:
        expand_ready.reset(token)


def _ancestors(order: Sequence[Node], start: Iterable[Node]) -> set[int]:
    """The ids of the nodes that require any of ``start`` (directly or not)."""
    parents: dict[int, list[Node]] = {}
    for node in order:
        for dep in node._deps or ():
            parents.setdefault(id(dep), []).append(node)
    seen: set[int] = set()
    todo = list(start)
    while todo:
        for parent in parents.get(id(todo.pop()), ()):
            if id(parent) not in seen:
                seen.add(id(parent))
                todo.append(parent)
    return seen


def apply_force(root: Node, force: Sequence[str], downstream: Sequence[str]) -> list[Node]:
    """Decide, on a fully expanded graph, what a forced run visits; returns its order."""
    order = walk(root) if root._session is None or root._session.order is None \
        else root._session.order
    by_name = {n.taskname: n for n in order}
    unknown = [n for n in (*force, *downstream) if n not in by_name]
    if unknown:
        raise ArgumentError(f"force: no task named {unknown[0]!r} in the graph of "
                            f"'{root.taskname}'", name="force", value=unknown[0])
    forced = {id(by_name[n]) for n in (*force, *downstream)}
    down = _ancestors(order, (by_name[n] for n in downstream))
    through = _ancestors(order, (by_name[n] for n in (*force, *downstream)))
    reached = {id(root)}
    for node in reversed(order):  # dependents before their requirements
        if id(node) not in reached:
            continue
        deps = node._deps or ()
        if id(node) in forced or id(node) in down:
            node._mark = FORCED
            node._ready = False
        elif node._ready is True and node.kind in _PRUNABLE:
            node.status = NodeStatus.ALREADY_READY
            deps = tuple(d for d in deps if id(d) in through or id(d) in forced)
        reached.update(id(d) for d in deps)
    kept = []
    for node in order:
        if id(node) in reached:
            kept.append(node)
        else:
            node._release()
    records.keep_order(kept)
    return kept


def forced_run(root: Node, force: Sequence[str],
               downstream: Sequence[str]) -> tuple[Node, list[Node]]:
    """The root of a run with ``force``/``force_downstream``, and the order it visits."""
    fresh = rebuild_expanded(root)
    return fresh, apply_force(fresh, force, downstream)


def _watches_changes(root: Node) -> bool:
    """Whether the graph as built has a ``stale_if="changed"`` task (the root included)."""
    session = root._session
    if session is None or session.order is None:
        return bool(getattr(root.hooks, "watches_changes", False))
    return any(n.options is not DEFAULT_OPTIONS and n.options.stale_if == "changed"
               for n in session.order)


def _fingerprints(state: Any) -> dict[str, Any]:
    """The fingerprints the store at ``state`` recorded for ``stale_if="changed"`` tasks."""
    store = open_store(state)
    try:
        return dict(store.completed(freshness.NAMESPACE))
    finally:
        if store is not state:
            store.close()


def prepare(root: Node, settings: RunSettings) -> tuple[Node, list[Node] | None]:
    """The root a run starts from, and its order when that is not the built one: built
    again with the recorded fingerprints when tasks watch their inputs for changes, and
    with forced nodes found and marked."""
    if settings.state is not None and root._rebuild is not None and _watches_changes(root):
        token = freshness.recorded.set(_fingerprints(settings.state))
        try:
            if settings.force or settings.force_downstream:
                return forced_run(root, settings.force, settings.force_downstream)
            return root._rebuild(), None
        finally:
            freshness.recorded.reset(token)
    if settings.force or settings.force_downstream:
        return forced_run(root, settings.force, settings.force_downstream)
    return root, None


def _graph(root: Node, force: Sequence[str], downstream: Sequence[str],
           fresh: bool) -> tuple[Node, list[Node]]:
    """The root and order a run would visit (built afresh if ``root`` already ran, or
    when ``fresh`` fingerprints are bound)."""
    if force or downstream:
        return forced_run(root, force, downstream)
    if root.status is not NodeStatus.NEW or fresh:
        if root._rebuild is None:
            raise ArgumentError(f"why: '{root.taskname}' has already run and cannot be "
                                "rebuilt", name="root")
        root = root._rebuild()
    session = root._session
    if session is not None and session.root is root and session.order is not None:
        return root, session.order
    return root, walk(root)


def _restored(order: Sequence[Node], state: Any) -> tuple[set[int], set[int]]:
    """What the store has as done (ids), and which of those come from a results cache."""
    before = {id(n) for n in order if n.status is NodeStatus.ALREADY_READY}
    with records.opened(state, dry_run=True) as store:
        records.restore(order, store, RunLog(logging.getLogger("tasktronaut.why")))
    done = {id(n) for n in order if n.status is NodeStatus.ALREADY_READY} - before
    cached = {id(n) for n in order
              if id(n) in done and getattr(n.options, "cache_key", None) is not None}
    return done, cached


def _reason(node: Node, restored: set[int], cached: set[int],
            named: Sequence[str]) -> str | None:
    """The one reason ``node`` runs, waits or is skipped; None for a plain ready node."""
    if id(node) in cached:
        return "Ready: cached result"
    if id(node) in restored:
        return "Ready: recorded as done"
    if node.status is NodeStatus.ALREADY_READY or node.kind is NodeKind.JOIN:
        return None
    if node._ready is False and node.options.stale_if is not None and node._observe():
        return f"Not ready: {freshness.reason(node) or 'stale'}"
    if node._mark is FORCED:
        return "Not ready: forced" if node.taskname in named else \
            "Not ready: forced (it requires a forced node)"
    if node.kind is NodeKind.EXTERNAL:
        return "Not ready: external asset missing (nothing here can make it)"
    if node.kind is NodeKind.TASK or (node.kind is NodeKind.STEP and node._asset is not None
                                       and node.hooks is not None
                                       and getattr(node.hooks, "declared", False)):
        return "Not ready: asset missing"
    if node.kind is NodeKind.STEP:
        return "Not ready: not recorded as done"
    return "Not ready: requirement not ready"


def why(root: Node, *, state: Any = None, force: Any = (), force_downstream: Any = ()
        ) -> list[str]:
    """Why each node of ``root``'s graph would run, wait or be skipped; runs nothing.

    One reason per node, in iotaa's readiness-line shape: ``Name: Not ready: asset
    missing``, then ``Name: Requires:`` and a ``✔``/``✖`` line per requirement that is not
    ready yet. With ``state``, what the store recorded (or cached) is reported as done.
    """
    force, force_downstream = names(force, "force"), names(force_downstream, "force_downstream")
    fresh = state is not None and root._rebuild is not None and _watches_changes(root)
    token = freshness.recorded.set(_fingerprints(state) if fresh else None)
    try:
        root, order = _graph(root, force, force_downstream, fresh)
        restored, cached = _restored(order, state) if state is not None else (set(), set())
        return _why_lines(root, order, restored, cached, force + force_downstream)
    finally:
        freshness.recorded.reset(token)


def _why_lines(root: Node, order: Sequence[Node], restored: set[int], cached: set[int],
               named: Sequence[str]) -> list[str]:
    done = NodeStatus.ALREADY_READY
    lines: list[str] = []
    for node in order:
        reason = _reason(node, restored, cached, named)
        if reason is None:
            continue
        name = node.taskname
        lines.append(f"{name}: {reason}")
        waiting = [d for d in node._deps or () if d.status is not done]
        if waiting and reason.startswith("Not ready"):
            lines.append(f"{name}: Requires:")
            lines.extend(f"{name}: ✖ {d.taskname}" for d in waiting)
    if not lines:
        lines.append(f"{root.taskname}: Ready")
    return lines
