"""What a graph looks like to people: readiness reports, the task tree, DOT, Mermaid, JSON.

Every function here reads nodes and returns text; none of them runs anything.

The graph exports show what iotaa's ``graph()`` shows: the root and the requirements that
were not ready when the graph was built (a requirement that was ready already is left out, as
are its own requirements, which were never expanded). Join nodes, which only connect the
blocks of a process, are looked through: an edge goes to the steps behind them. Each node is
painted by its :func:`state`: pale green when ready, orange when it is not ready or blocked
(a blocked node's outline is dashed), red when it failed, grey when it was cancelled or
never started; its shape says what kind of node it is.
"""

from __future__ import annotations

from typing import Any

from tasktronaut.model.node import Node, NodeKind, NodeStatus

READY_COLOR, NOT_READY_COLOR = "palegreen", "orange"
FAILED_COLOR, CANCELLED_COLOR, SKIPPED_COLOR = "tomato", "darkgray", "lightgray"

STATES = ("ready", "already ready", "failed", "blocked", "not ready", "cancelled", "skipped",
          "pending")
"""Every :func:`state` a node can be in, in the order reports list them."""

_STATE_OF_STATUS = {
    NodeStatus.READY: "ready",
    NodeStatus.ALREADY_READY: "already ready",
    NodeStatus.FAILED: "failed",
    NodeStatus.CANCELLED: "cancelled",
    NodeStatus.SKIPPED: "skipped",
    NodeStatus.NEW: "pending",
}
_COLORS = {
    "ready": READY_COLOR,
    "already ready": READY_COLOR,
    "failed": FAILED_COLOR,
    "cancelled": CANCELLED_COLOR,
    "skipped": SKIPPED_COLOR,
}
_DOT_SHAPES = {
    NodeKind.TASK: "box",
    NodeKind.STEP: "box",
    NodeKind.COLLECTION: "box3d",
    NodeKind.EXTERNAL: "cylinder",
    NodeKind.PROCESS: "component",
}
_MERMAID_SHAPES = {
    NodeKind.TASK: ('["', '"]'),
    NodeKind.STEP: ('("', '")'),
    NodeKind.COLLECTION: ('[["', '"]]'),
    NodeKind.EXTERNAL: ('[("', '")]'),
    NodeKind.PROCESS: ('{{"', '"}}'),
}


def pending_requirements(node: Node) -> list[Node]:
    """The node's requirements that were not already ready when the graph was built.

    Join nodes (which a process compiles its concurrent blocks into) are looked through:
    the report names the steps behind them.
    """
    return requirements(node, ready_too=False)


def requirements(node: Node, ready_too: bool = True) -> list[Node]:
    """The node's requirements, join nodes looked through (those already ready when the
    graph was built only with ``ready_too``)."""
    seen: set[int] = set()
    out = []
    todo = list(reversed(node._deps or ()))
    while todo:
        dep = todo.pop()
        if id(dep) in seen or (not ready_too and dep.status is NodeStatus.ALREADY_READY):
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


def blockers(node: Node) -> list[Node]:
    """The requirements that kept ``node`` from running: those not ready after the run."""
    return [r for r in pending_requirements(node) if not r.ready]


def state(node: Node) -> str:
    """How ``node`` stands, in words (one of :data:`STATES`).

    ``blocked``: not ready because a requirement is not; ``not ready``: its requirements were
    ready but it is not (an external asset that is missing, an action that did not make its
    asset, a dry run); ``pending``: not visited (yet).
    """
    status = node.status
    if status is NodeStatus.NOT_READY:
        return "blocked" if blockers(node) else "not ready"
    return _STATE_OF_STATUS[status]


def shown_nodes(root: Node) -> list[Node]:
    """The nodes a graph export shows: the root, then each requirement that was not already
    ready when built, depth first in requirement order (join nodes looked through)."""
    order = [root]
    seen = {id(root)}
    todo = [root]
    while todo:
        node = todo.pop()
        for dep in reversed(pending_requirements(node)):
            if id(dep) not in seen:
                seen.add(id(dep))
                order.append(dep)
                todo.append(dep)
    return order


def _edges(root: Node) -> tuple[list[Node], list[tuple[Node, Node]]]:
    nodes = shown_nodes(root)
    edges = [(node, dep) for node in nodes for dep in pending_requirements(node)]
    return nodes, edges


def _dot_id(node: Node) -> str:
    import hashlib  # not at start-up: only graphs need it

    return "_" + hashlib.sha256(node.taskname.encode("utf-8")).hexdigest()


def dot_label(text: str) -> str:
    """``text`` as the inside of a DOT double-quoted string (newlines kept as ``\\n``)."""
    return (text.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "")
            .replace("\n", "\\n"))


def _dot_node(node: Node) -> str:
    now = state(node)
    color = _COLORS.get(now, NOT_READY_COLOR)
    style = "filled"
    if node.kind is NodeKind.STEP:
        style = '"filled,rounded"'
    if now == "blocked":
        style = '"filled,dashed"' if node.kind is not NodeKind.STEP else '"filled,rounded,dashed"'
    return (f'{_dot_id(node)} [fillcolor={color}, label="{dot_label(node.taskname)}", '
            f"shape={_DOT_SHAPES.get(node.kind, 'box')}, style={style}]")


def to_dot(root: Node) -> str:
    """Graphviz DOT for the graph below ``root``; an edge points at what a node requires.

    A plain task graph reads exactly as iotaa's (``shape=box, style=filled``, pale green or
    orange); other kinds, failures and blocked nodes add shapes, colours and dashes.
    """
    nodes, edges = _edges(root)
    lines = [_dot_node(n) for n in nodes]
    lines += [f"{_dot_id(a)} -> {_dot_id(b)}" for a, b in edges]
    return "digraph g {\n  " + "\n  ".join(sorted(lines)) + "\n}"


def mermaid_label(text: str) -> str:
    """``text`` safe inside a quoted Mermaid label (quotes, markup and line breaks escaped)."""
    for char, code in (("#", "#35;"), ("&", "#amp;"), ('"', "#quot;"), ("<", "#lt;"),
                       (">", "#gt;")):
        text = text.replace(char, code)
    return text.replace("\r", "").replace("\n", "<br>")


_MERMAID_CLASSES = {"ready": "ready", "already ready": "ready", "failed": "failed",
                    "blocked": "blocked", "cancelled": "cancelled", "skipped": "skipped"}


def to_mermaid(root: Node) -> str:
    """A Mermaid flowchart of the graph below ``root``: shapes by kind, classes by state."""
    nodes, edges = _edges(root)
    ids = {id(n): f"n{i}" for i, n in enumerate(nodes)}
    lines = ["flowchart TD"]
    for n in nodes:
        left, right = _MERMAID_SHAPES.get(n.kind, ('["', '"]'))
        css = _MERMAID_CLASSES.get(state(n), "notready")
        lines.append(f"  {ids[id(n)]}{left}{mermaid_label(n.taskname)}{right}:::{css}")
    lines += [f"  {ids[id(a)]} --> {ids[id(b)]}" for a, b in edges]
    lines += [
        f"  classDef ready fill:{READY_COLOR}",
        f"  classDef notready fill:{NOT_READY_COLOR}",
        f"  classDef blocked fill:{NOT_READY_COLOR},stroke-dasharray:5 5",
        f"  classDef failed fill:{FAILED_COLOR}",
        f"  classDef cancelled fill:{CANCELLED_COLOR}",
        f"  classDef skipped fill:{SKIPPED_COLOR}",
    ]
    return "\n".join(lines)


def to_data(root: Node) -> dict[str, Any]:
    """The graph below ``root`` as plain data: nodes (name, kind, ready, status, state) and
    edges, the same nodes as :func:`to_dot`."""
    nodes, edges = _edges(root)
    return {
        "root": root.taskname,
        "nodes": [
            {"name": n.taskname, "kind": n.kind.value, "ready": n.ready,
             "status": n.status.value, "state": state(n)}
            for n in nodes
        ],
        "edges": [{"from": a.taskname, "to": b.taskname} for a, b in edges],
    }


def to_json(root: Node, indent: int | None = 2) -> str:
    """:func:`to_data` as JSON text."""
    import json

    return json.dumps(to_data(root), indent=indent, ensure_ascii=False)
