"""The session of one graph: the registry that deduplicates nodes by name, and run settings.

A session lives in a :class:`~contextvars.ContextVar` while its graph is built and run, so
task functions called inside it return nodes of that graph, and two runs in two threads never
share anything.
"""

from __future__ import annotations

import threading
from contextvars import ContextVar
from typing import Any

import attrs

from tasktronaut.logs import RunLog


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


current_session: ContextVar[Session | None] = ContextVar("tasktronaut_session", default=None)
