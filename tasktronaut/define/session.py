"""The build session of one graph: the registry that deduplicates nodes by name.

A session lives in a :class:`~contextvars.ContextVar` while its graph is built and run, so
task functions called inside it return nodes of that graph, and two runs in two threads never
share anything. It extends the model's :class:`~tasktronaut.model.protocols.Owner` (what the
engine sees of it) with what only building needs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from tasktronaut import _gc
from tasktronaut.logs import current_log
from tasktronaut.model.node import Node, walk
from tasktronaut.model.protocols import Owner, current_session

__all__ = ["Session", "current_session"]


@attrs.define(eq=False)
class Session(Owner):
    """Per-graph build state: nodes by name, name counters, warnings given, processes."""

    registry: dict[str, Any] = attrs.field(factory=dict)
    warned: set[str] = attrs.field(factory=set)
    counters: dict[str, int] = attrs.field(factory=dict)
    processes: dict[Any, Any] = attrs.field(factory=dict)
    building: bool = False
    """True while task functions are called to build the graph (not from actions)."""
    memo: dict[Any, dict[tuple[Any, ...], Any]] = attrs.field(factory=dict)
    """Nodes by task function, then positional arguments, to skip repeated calls."""

    def build(self, make_root: Callable[[], Node]) -> Node:
        """Make a root node with this session current, then expand the graph below it.

        Collection is paused meanwhile (see :mod:`tasktronaut._gc`); the expansion order is
        kept for the run that follows.
        """
        token, log_token = current_session.set(self), current_log.set(self.log)
        building, self.building = self.building, True
        try:
            with _gc.paused():
                root = make_root()
                self.root, self.order = root, walk(root)
        finally:
            self.building = building
            current_log.reset(log_token)
            current_session.reset(token)
        return root
