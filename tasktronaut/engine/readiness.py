"""What a run will do and why: forced nodes, and the one reason each node runs or waits.

``force`` names nodes to treat as not ready for one run, whatever their assets say; the
ready nodes between the root and a forced node are passed through (not run again), and
``force_downstream`` also treats everything that requires a forced node as not ready. To
find forced nodes below ready ones, the graph is built again with every node expanded
(:data:`~tasktronaut.model.node.expand_ready`); nothing is deleted and no action runs before
the run itself.

:func:`why` runs nothing: it answers, per node, what a run would do with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tasktronaut.engine import records
from tasktronaut.engine.records import FORCED
from tasktronaut.errors import ArgumentError
from tasktronaut.model.node import Node, NodeKind, NodeStatus, expand_ready, walk

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
