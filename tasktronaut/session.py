"""The session of one graph: the registry that deduplicates nodes by name, and run settings.

A session lives in a :class:`~contextvars.ContextVar` while its graph is built and run, so
task functions called inside it return nodes of that graph, and two runs in two threads never
share anything.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import attrs

from tasktronaut import _gc
from tasktronaut.graph import Node, walk
from tasktronaut.logs import RunLog, current_log


@attrs.define(eq=False)
class Session:
    """Per-graph state: nodes by name, the run's logger, flags the run sets."""

    log: RunLog = attrs.field(factory=RunLog)
    registry: dict[str, Any] = attrs.field(factory=dict)
    dry_run: bool = False
    cancel: threading.Event = attrs.field(factory=threading.Event)
    warned: set[str] = attrs.field(factory=set)
    root: Any = None
    order: list[Any] | None = None
    counters: dict[str, int] = attrs.field(factory=dict)
    active: Any = None
    interrupted: int | None = None
    processes: dict[Any, Any] = attrs.field(factory=dict)


    def build(self, make_root: Callable[[], Node]) -> Node:
        """Make a root node with this session current, then expand the graph below it.

        Collection is paused meanwhile (see :mod:`tasktronaut._gc`); the expansion order is
        kept for the run that follows.
        """
        token, log_token = current_session.set(self), current_log.set(self.log)
        try:
            with _gc.paused():
                root = make_root()
                self.root, self.order = root, walk(root)
        finally:
            current_log.reset(log_token)
            current_session.reset(token)
        return root


current_session: ContextVar[Session | None] = ContextVar("tasktronaut_session", default=None)
