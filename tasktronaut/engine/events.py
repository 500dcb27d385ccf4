"""Events of a run, and the bus that delivers them to observers.

Everything that wants to know what a run did (the iotaa-format log lines, definition hooks,
the ``listener=`` setting, the CLI's progress display, run reports, tracing) is an
:class:`Observer`. Observers implement any subset of the hook points below; the
:class:`Bus` keeps, per hook point, a tuple of the bound methods of the observers that
override it, so a point nobody listens to costs one truth test of an empty tuple: no event
object is allocated and no call is made (Dask's callbacks, Hamilton's ``does_hook``).

Hook points, in the order a node meets them:

``run_started(root, nodes)``
    Once, before anything runs; ``nodes`` are every node of the graph, requirements first.
``node_started(node)``
    An attempt of ``node`` is handed to its executor (``node.attempt`` counts from 1).
``node_retrying(node, error, delay)``
    The attempt failed with ``error``; another starts in ``delay`` seconds.
``node_finished(node)``
    The node has its final status for this run (``node.status``, ``.result``, ``.error``):
    once per node, including nodes that were already ready, blocked or skipped.
``run_finished(root, reason)``
    Once, when the run is over; ``reason`` is a :class:`~tasktronaut.engine.stop.StopReason`
    or ``None`` when the run was not stopped early.

``around_attempt(node)`` is different: a context manager entered where the action runs (the
worker thread, or the run's thread for inline actions), around the action itself, so a
tracing span opened there is the parent of spans the action opens. Actions in worker
processes or on Dask run elsewhere; for them only the events above are delivered.

Observers are called on the run's own thread, except ``around_attempt``. An observer that
raises is logged and otherwise ignored: watching a run never changes its outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

from tasktronaut import logs
from tasktronaut.logs import RunLog

if TYPE_CHECKING:
    from tasktronaut.engine.stop import StopReason
    from tasktronaut.model.node import Node

POINTS = ("run_started", "node_started", "node_retrying", "node_finished", "run_finished",
          "around_attempt")


class Observer:
    """Base class for observers: every hook point is optional and does nothing here.

    Subclassing is not required; any object with some of these methods will do.
    """

    def run_started(self, root: Node, nodes: Sequence[Node]) -> None:
        """The run is about to start."""

    def node_started(self, node: Node) -> None:
        """An attempt of ``node`` was handed to its executor."""

    def node_retrying(self, node: Node, error: BaseException, delay: float) -> None:
        """An attempt of ``node`` failed; another starts after ``delay`` seconds."""

    def node_finished(self, node: Node) -> None:
        """``node`` has its final status for this run."""

    def run_finished(self, root: Node, reason: StopReason | None) -> None:
        """The run is over."""

    def around_attempt(self, node: Node) -> AbstractContextManager[Any]:
        """A context manager around one attempt of ``node``'s action, where it runs."""
        raise NotImplementedError  # pragma: no cover - never bound: see Bus


def _overrides(observer: Any, point: str) -> bool:
    method = getattr(observer, point, None)
    if method is None:
        return False
    base = getattr(Observer, point)
    return getattr(method, "__func__", method) is not base


class Bus:
    """The observers of one run, grouped by the hook points they implement."""

    __slots__ = ("around_attempt", "finished", "log", "node_finished", "node_retrying",
                 "node_started", "ready_heard", "run_finished", "run_started")

    def __init__(self, observers: Sequence[Any], log: RunLog) -> None:
        self.log = log

        def bound(point: str) -> tuple[Callable[..., Any], ...]:
            return tuple(getattr(o, point) for o in observers if _overrides(o, point))

        self.run_started = bound("run_started")
        self.node_started = bound("node_started")
        self.node_retrying = bound("node_retrying")
        self.node_finished = bound("node_finished")
        self.run_finished = bound("run_finished")
        self.around_attempt = bound("around_attempt")
        self.finished = self._caller(self.node_finished)
        """Deliver ``node_finished`` (call only when ``node_finished`` is not empty)."""
        self.ready_heard = any(not getattr(getattr(h, "__self__", None), "quiet_when_ready",
                                           False) for h in self.node_finished)
        """Whether some observer wants to hear of a node that became ready (the engine's
        own reporter does not when info lines are off: a plain task's success then costs
        no call at all)."""

    def _caller(self, handlers: tuple[Callable[..., Any], ...]) -> Callable[..., None]:
        """One call that delivers an event to ``handlers``: the handler itself when it is
        the engine's own and alone (it never raises), else a guarded fan-out."""
        if len(handlers) == 1 and getattr(handlers[0], "__self__", None).__class__.__dict__.get(
                "trusted", False):
            return handlers[0]
        return lambda *args: self.emit(handlers, *args)

    def emit(self, handlers: tuple[Callable[..., Any], ...], *args: Any) -> None:
        """Call each handler; one that raises is logged and does not stop the others."""
        # Records logged about a node carry its task and attempt (when sinks want them).
        if logs.context_wanted and args and hasattr(args[0], "attempt"):
            with logs.log_context(task=args[0].taskname, attempt=args[0].attempt):
                self._emit(handlers, args)
            return
        self._emit(handlers, args)

    def _emit(self, handlers: tuple[Callable[..., Any], ...], args: tuple[Any, ...]) -> None:
        for handler in handlers:
            try:
                handler(*args)
            except Exception as e:  # an observer never changes the run's outcome
                owner = getattr(handler, "__self__", handler)
                self.log.error(f"Observer {type(owner).__name__}.{handler.__name__} "
                               f"failed: {type(e).__name__}: {e}")

    @contextmanager
    def attempt(self, node: Node) -> Iterator[None]:
        """Enter every observer's ``around_attempt(node)`` (only called when there are any)."""
        with ExitStack() as stack:
            for enter in self.around_attempt:
                stack.enter_context(enter(node))
            yield
