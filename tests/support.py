"""Helpers the test modules share (importable as ``support``: see ``pythonpath`` in
pyproject.toml)."""

from tasktronaut import Node
from tasktronaut.model import traverse


def nodes_of(root: Node) -> dict[str, Node]:
    """Every node of a built or run graph, by task name."""
    return {node.taskname: node for node in traverse(root)}
