"""Interfaces the upper layers implement: node hooks, executors, and the graph's owner.

The model knows nothing of processes, workers or how graphs are built; these are the seams
through which the definition layer (``NodeHooks``, ``Owner``) and the workers (``Executor``)
plug in, as anyio keeps its interfaces in ``abc/`` apart from their implementations.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextvars import ContextVar
from queue import SimpleQueue
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from tasktronaut.logs import RunLog

if TYPE_CHECKING:
    from tasktronaut.model.node import Node

Event = tuple[Any, bool, Any]
"""What an executor reports: (ticket, ok, value or exception)."""
Events = SimpleQueue[Event]
Job = Callable[[], Any]


class NodeHooks:
    """What a node's definition wants to hear from the engine; process steps use this.

    The engine knows nothing about processes: it asks ``cancelled()`` before starting a node,
    and reports a failure or a cancellation here.
    """

    __slots__ = ()  # an implementation made per node (a step's) need not carry a dict

    def cancelled(self) -> bool:
        """Whether the node must not start (its process was cancelled)."""
        return False

    def starting(self, node: Node) -> None:
        """The node's action is about to be started (called in the run's own thread)."""

    def plain(self, node: Node) -> bool:
        """Whether the node may start as a plain task does, with no visit and no
        ``starting`` call: nothing would stop it, nothing needs telling that it starts, and
        its assets are what its action leaves (none declared to observe)."""
        return False

    def restore(self, node: Node, store: Any) -> bool:
        """Before a run with a state store: mark the node done if the store says so."""
        return False

    def record(self, node: Node, store: Any) -> None:
        """The node completed in a run with a state store: record it there."""

    def abandon(self, node: Node) -> None:
        """The engine gave up on the node's running attempt (a timeout)."""

    def failed(self, node: Node, error: BaseException) -> None:
        """The node's action failed for good."""

    def cancel(self, node: Node, error: BaseException) -> bool:
        """The node asked to cancel; return True if that is handled in a narrower scope
        than the whole run."""
        return False


class Grown:
    """What an action returns to add nodes to the running graph (a dynamic ``each``).

    ``nodes`` are new, in the order they were made (requirements first); they may require
    the node whose action made them. ``join`` (which waits for that node already) also
    waits for ``exits``, so what follows it waits for the new nodes too.
    """

    __slots__ = ("exits", "join", "nodes")

    def __init__(self, nodes: tuple[Node, ...], join: Node, exits: tuple[Node, ...]) -> None:
        self.nodes, self.join, self.exits = nodes, join, exits


class Executor(Protocol):
    """The interface between the engine and its workers.

    ``submit(ticket, job)`` starts a job; when it ends the executor puts
    ``(ticket, ok, value)`` on the run's event queue. ``cancel(ticket)`` stops (or abandons)
    the attempt behind a ticket.
    """

    capacity: int
    remote: bool

    def start(self, events: Events, log: RunLog) -> None:
        """Get ready to take jobs; outcomes go to ``events``, worker logs to ``log``."""

    def submit(self, ticket: Any, job: Job) -> None:
        """Start ``job`` for a ticket; its outcome is put on the event queue later."""

    def cancel(self, ticket: Any) -> None:
        """Stop (or abandon) the attempt behind a ticket; its outcome no longer matters."""

    def shutdown(self) -> None:
        """Stop taking jobs; jobs still running are abandoned, not waited for."""


def is_executor(value: Any) -> bool:
    """Whether ``value`` is an executor object (rather than a name)."""
    return all(
        hasattr(value, a) for a in ("start", "submit", "cancel", "shutdown", "capacity", "remote")
    )


@attrs.define(eq=False)
class Owner:
    """What a graph belongs to while it is built and run: its logger and run-facing state.

    The definition layer's build session extends this with its registry; the engine only
    needs what is here, so it never depends on how a graph was built.
    """

    log: RunLog = attrs.field(factory=RunLog)
    dry_run: bool = False
    root: Any = None
    order: list[Any] | None = None
    active: Any = None
    interrupted: int | None = None
    cancel: threading.Event = attrs.field(factory=threading.Event)
    record: Any = None
    """The record of the last run with facts (see ``tasktronaut.engine.facts``)."""
    building: bool = True
    """Whether task functions called now add to the graph (a build session says when)."""


current_session: ContextVar[Any] = ContextVar("tasktronaut_session", default=None)
"""The owner (build session) of the graph being built or run in this context."""
