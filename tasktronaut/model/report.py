"""What a graph looks like to people: readiness reports, the task tree, DOT, Mermaid, JSON.

Every function here reads nodes and returns text; none of them runs anything. The graph
exports cover every node that was built below the root (ready ones included), coloured by
readiness as iotaa does: pale green when ready, orange when not.
"""

from __future__ import annotations

import json
from hashlib import sha256
from typing import Any

from tasktronaut.model.node import Node, NodeKind, NodeStatus, traverse

READY_COLOR, NOT_READY_COLOR = "palegreen", "orange"


def pending_requirements(node: Node) -> list[Node]:
    """The node's requirements that were not already ready when the graph was built.

    Join nodes (which a process compiles its concurrent blocks into) are looked through:
    the report names the steps behind them.
    """
    seen: set[int] = set()
    out = []
    todo = list(reversed(node._deps or ()))
    while todo:
        dep = todo.pop()
        if dep.status is NodeStatus.ALREADY_READY or id(dep) in seen:
            continue
        seen.add(id(dep))
        if dep.kind is NodeKind.JOIN:
            todo.extend(reversed(dep._deps or ()))
        else:
            out.append(dep)
    return out


def readiness_lines(node: Node) -> list[str]:
    """iotaa's readiness report: ``Ready``, or ``Not ready`` with a ✔/✖ line per requirement."""
    name = node.taskname
    if node.ready:
        return [f"{name}: Ready"]
    external = " [external asset]" if node.kind is NodeKind.EXTERNAL else ""
    lines = [f"{name}: Not ready{external}"]
    reqs = pending_requirements(node)
    if reqs:
        lines.append(f"{name}: Requires:")
        lines.extend(f"{name}: {'✔' if r.ready else '✖'} {r.taskname}" for r in reqs)
    return lines


MAX_INDENT = 24
"""Deeper levels of the tree are numbered instead of indented, so its text stays linear."""


def tree_lines(root: Node) -> list[str]:
    """The graph as an indented tree; each node's subtree is shown once, then referred to.

    Levels deeper than :data:`MAX_INDENT` carry their depth as a number instead of more
    indentation, so a long chain prints in space linear in its length.
    """
    lines: list[str] = []
    shown: set[int] = set()
    todo: list[tuple[Node, int]] = [(root, 0)]
    while todo:
        node, level = todo.pop()
        children = pending_requirements(node)
        repeat = id(node) in shown and bool(children)
        indent = "  " * level if level <= MAX_INDENT else "  " * MAX_INDENT + f"[{level}] "
        lines.append(indent + node.taskname + (" (see above)" if repeat else ""))
        if repeat:
            continue
        shown.add(id(node))
        todo.extend((child, level + 1) for child in reversed(children))
    return lines


def _edges(root: Node) -> tuple[list[Node], list[tuple[Node, Node]]]:
    nodes = list(traverse(root))
    edges = []
    for node in nodes:
        seen: set[int] = set()
        for dep in node._deps or ():
            if id(dep) not in seen:
                seen.add(id(dep))
                edges.append((node, dep))
    return nodes, edges


def _dot_id(node: Node) -> str:
    return "_" + sha256(node.taskname.encode("utf-8")).hexdigest()


def _dot_label(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _dot_shape(node: Node) -> str:
    return "point" if node.kind is NodeKind.JOIN else "box"


def to_dot(root: Node) -> str:
    """Graphviz DOT for the graph below ``root``; an edge points at what a node requires."""
    nodes, edges = _edges(root)
    lines = [
        f'{_dot_id(n)} [fillcolor={READY_COLOR if n.ready else NOT_READY_COLOR}, '
        f'label="{_dot_label(n.taskname)}", shape={_dot_shape(n)}, style=filled]'
        for n in nodes
    ]
    lines += [f"{_dot_id(a)} -> {_dot_id(b)}" for a, b in edges]
    return "digraph g {\n  " + "\n  ".join(sorted(lines)) + "\n}"


def to_mermaid(root: Node) -> str:
    """A Mermaid flowchart of the graph below ``root``, coloured by readiness."""
    nodes, edges = _edges(root)
    ids = {id(n): f"n{i}" for i, n in enumerate(nodes)}
    lines = ["flowchart TD"]
    for n in nodes:
        label = n.taskname.replace('"', "#quot;")
        lines.append(f'  {ids[id(n)]}["{label}"]:::{"ready" if n.ready else "notready"}')
    lines += [f"  {ids[id(a)]} --> {ids[id(b)]}" for a, b in edges]
    lines.append(f"  classDef ready fill:{READY_COLOR}")
    lines.append(f"  classDef notready fill:{NOT_READY_COLOR}")
    return "\n".join(lines)


def to_data(root: Node) -> dict[str, Any]:
    """The graph below ``root`` as plain data: nodes (name, kind, ready, status) and edges."""
    nodes, edges = _edges(root)
    return {
        "root": root.taskname,
        "nodes": [
            {"name": n.taskname, "kind": n.kind.value, "ready": n.ready, "status": n.status.value}
            for n in nodes
        ],
        "edges": [{"from": a.taskname, "to": b.taskname} for a, b in edges],
    }


def to_json(root: Node, indent: int | None = 2) -> str:
    """:func:`to_data` as JSON text."""
    return json.dumps(to_data(root), indent=indent, ensure_ascii=False)
