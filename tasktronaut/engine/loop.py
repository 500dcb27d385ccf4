"""The run loop: readiness, scheduling, dispatch to workers, and reporting of outcomes.

Scheduling is event-driven. Before the run every node gets a count of the requirements it
waits for; when a node finishes only its dependents are looked at, and one whose count drops
to zero is queued. Building and running are therefore linear in the size of the graph.

A node is visited once all its requirements are: a task whose requirements are all ready runs
its action on a worker (then its assets are checked again); anything else only reports its
readiness, as iotaa does. Ctrl-C stops new work from starting, lets running actions finish and
reports; a second Ctrl-C aborts.
"""

from __future__ import annotations

import heapq
import signal
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from queue import Empty, SimpleQueue
from typing import Any

from tasktronaut import _gc
from tasktronaut.engine import readiness, records
from tasktronaut.engine.dispatch import Pools, Ticket, finish_remote, remote_job
from tasktronaut.engine.settings import RunSettings
from tasktronaut.errors import (
    ArgumentError,
    CancelProcessError,
    CycleError,
    NonRetryableProcessError,
    ProtocolError,
    TaskTimeoutError,
    TasktronautError,
)
from tasktronaut.logs import DEBUG, RunLog, current_log
from tasktronaut.model.assets import Asset, observe
from tasktronaut.model.node import Node, NodeKind, NodeStatus, readiness_error, reobserve, walk
from tasktronaut.model.options import DEFAULT_OPTIONS
from tasktronaut.model.protocols import Executor, Owner, current_session
from tasktronaut.model.report import readiness_lines, tree_lines
from tasktronaut.state import StateError

_NEVER_RETRIED = (NonRetryableProcessError, CancelProcessError, ProtocolError, ArgumentError,
                  CycleError, StateError)
_READY = NodeStatus.READY
_TASK = NodeKind.TASK
_ALREADY = NodeStatus.ALREADY_READY


def run(root: Node, *, threads: int = 1, processes: int = 0, executor: Any = None,
        dry_run: bool = False, log: Any = None, fail_fast: bool = False,
        listener: Callable[[Node], Any] | None = None, state: Any = None,
        grace: float = 10.0, restart: bool = False, force: Any = (),
        force_downstream: Any = ()) -> Node:
    """Run the graph below ``root`` and return the root that was run.

    ``state`` (a path, or a store from :mod:`tasktronaut.state`) records each completed
    process step per process identifier; a run with the same identifier skips what is
    recorded and resumes at the first step that is not. ``restart=True`` forgets what the
    store recorded for the identifiers of this run and starts over. ``force`` names nodes
    to treat as not ready for this run; ``force_downstream`` also everything requiring them.
    """
    settings = RunSettings(threads, processes, executor, dry_run, fail_fast, listener, state,
                           grace, restart, force, force_downstream)
    if root.status is not NodeStatus.NEW:
        if root._rebuild is None:
            raise TasktronautError(f"Task '{root.taskname}' has already run and cannot be rebuilt")
        root = root._rebuild()
    root, forced = readiness.prepare(root, settings)  # force, freshness: engine/readiness.py
    session = root._session
    if session is None:
        session = root._session = Owner()
    session.cancel.clear()
    session.interrupted = None
    if log is not None:
        session.log = RunLog(log)
    session.dry_run = dry_run
    if forced is not None:
        order = forced
    else:
        order = session.order if session.root is root and session.order is not None \
            else walk(root)
    session.order = None
    with records.opened(state, restart, dry_run) as store:
        _Run(root, order, session, settings, store).execute()
    return root


class _Run:
    """One execution of a graph."""

    def __init__(self, root: Node, order: list[Node], session: Owner,
                 settings: RunSettings, store: Any = None) -> None:
        self.root = root
        self.order = order
        self.session = session
        self.log = session.log
        self.settings = settings
        self.queue: deque[Node] = deque()
        self.stopping = False
        self.interrupted = False
        self.cancelled = False
        self.listener = settings.listener
        self.delayed: list[tuple[float, int, Node]] = []
        self._sequence = 0
        self.events: SimpleQueue[tuple[Ticket, bool, Any] | None] = SimpleQueue()
        tuned = [n.options for n in order if n.options is not DEFAULT_OPTIONS]
        self.timed = any(o.timeout is not None for o in tuned)
        self.routed = any(o.executor is not None for o in tuned)
        self.pools = Pools(settings.threads, settings.processes, settings.executor,
                           self.events, self.log, inline=not self.timed)  # type: ignore[arg-type]
        self.inflight = 0
        self.busy: dict[Executor, int] = {}
        self.current: dict[int, Ticket] = {}
        self.parked: dict[Executor, deque[Node]] = {}
        self.cancel_remote = False
        self.deadlines: list[tuple[float, int, Ticket, BaseException]] = []
        self.store = store

    def request_cancel(self) -> None:
        """Stop starting new work (called from any thread, e.g. by ``Node.cancel``)."""
        self.cancelled = self.stopping = self.cancel_remote = True
        self.events.put(None)

    def _stop_cancelled_remote(self) -> None:
        """Stop attempts in worker processes whose process was cancelled: they cannot see
        ``context.cancelled``, so they are stopped instead."""
        self.cancel_remote = False
        for ticket in list(self.current.values()):
            hooks = ticket.node.hooks
            cancelled = self.cancelled or (hooks is not None and hooks.cancelled())
            if ticket.executor.remote and cancelled and self._settle(ticket):
                ticket.executor.cancel(ticket)
                error = CancelProcessError("stopped: its process was cancelled")
                finish_remote(ticket.node, False, error)
                self._finished(ticket.node, False, error)

    def execute(self) -> None:
        session_token = current_session.set(self.session)
        log_token = current_log.set(self.log)
        self.session.active = self
        try:
            with _gc.frozen():
                if self.store is not None:
                    records.restore(self.order, self.store, self.log)
                else:
                    records.warn_uncached(self.order, self.log)
                if self.log.debug_on:
                    self._log_plan()
                forcing = self.settings.force or self.settings.force_downstream
                if self.root.status is _ALREADY and not forcing:
                    self._report(self.root)
                    return
                self._prepare()
                inline = self.settings.inline and not self.timed and not self.routed
                try:
                    with self._interrupts():
                        if inline:
                            self._loop_inline()
                        else:
                            self._loop()
                finally:
                    self.pools.shutdown()
                self._wrap_up()
        finally:
            self.session.active = None
            current_log.reset(log_token)
            current_session.reset(session_token)

    def _prepare(self) -> None:
        """Count what each node waits for and queue those that wait for nothing."""
        queue = self.queue
        for node in self.order:
            if node.status is _ALREADY:
                continue
            pending = 0
            for dep in node._deps or ():
                if dep.status is not _ALREADY:
                    pending += 1
                    dependents = dep._dependents
                    if dependents is None:
                        dep._dependents = node
                    elif isinstance(dependents, list):
                        dependents.append(node)
                    else:
                        dep._dependents = [dependents, node]
            node._pending = pending
            if not pending:
                queue.append(node)

    def _loop(self) -> None:
        """The general loop: jobs go to their executors; outcomes come back as events."""
        queue, events = self.queue, self.events
        while ((queue or self.delayed) and not self.stopping) or self.inflight:
            self._requeue_due()
            while queue and not self.stopping:
                self._dispatch(queue.popleft())
            if self.inflight:
                if self.cancel_remote:
                    self._stop_cancelled_remote()
                self._expire()
                if not self.inflight:
                    continue
                try:
                    event = events.get(timeout=self._until_due())
                except Empty:
                    continue
                if event is not None:
                    self._event(*event)
            elif self.delayed and not queue:
                self._sleep_until_due()

    def _dispatch(self, node: Node) -> None:
        if not self._visit(node):
            return
        executor = self.pools.for_node(node)
        if self.busy.get(executor, 0) >= executor.capacity:
            self.parked.setdefault(executor, deque()).append(node)
        else:
            self._submit(node, executor)

    def _submit(self, node: Node, executor: Executor) -> None:
        self._sequence += 1
        ticket = Ticket(node, self._sequence, executor)
        self.busy[executor] = self.busy.get(executor, 0) + 1
        self.inflight += 1
        self.current[id(node)] = ticket
        timeout = node.options.timeout
        if timeout is not None:
            error = TaskTimeoutError(node.taskname, timeout)
            heapq.heappush(self.deadlines, (time.monotonic() + timeout, ticket.token, ticket,
                                            error))
        if not executor.remote:
            executor.submit(ticket, partial(_perform, node, self.log))
            return
        try:
            job = remote_job(node)
            if self.log.info_on:
                self.log.info(_executing(node))
            executor.submit(ticket, job)
        except Exception as e:
            self.events.put((ticket, False, e))

    def _settle(self, ticket: Ticket) -> bool:
        """Take an attempt off the books; False if it was already given up on."""
        node = ticket.node
        if self.current.get(id(node)) is not ticket:
            return False
        del self.current[id(node)]
        self.busy[ticket.executor] -= 1
        self.inflight -= 1
        return True

    def _event(self, ticket: Ticket, ok: bool, value: Any) -> None:
        if not self._settle(ticket):
            return
        node, executor = ticket.node, ticket.executor
        if executor.remote:
            ok, value = finish_remote(node, ok, value)
        self._finished(node, ok, value)
        self._unpark(executor)

    def _unpark(self, executor: Executor) -> None:
        parked = self.parked.get(executor)
        if parked and not self.stopping:
            self._submit(parked.popleft(), executor)

    def _expire(self) -> None:
        """Give up on attempts past their deadline: stop (or abandon) them, fail them."""
        deadlines, now = self.deadlines, time.monotonic()
        while deadlines and deadlines[0][0] <= now:
            _, _, ticket, error = heapq.heappop(deadlines)
            if not self._settle(ticket):
                continue
            node = ticket.node
            ticket.executor.cancel(ticket)
            if node.hooks is not None:
                self._call_hook(node, node.hooks.abandon, node)
            if ticket.executor.remote:
                finish_remote(node, False, error)
            self._finished(node, False, error)
            self._unpark(ticket.executor)

    def _stop_remote_after_grace(self) -> None:
        """After a signal, stop the attempts in worker processes that outlast the grace."""
        due = time.monotonic() + self.settings.grace
        for ticket in list(self.current.values()):
            if ticket.executor.remote:
                error = TasktronautError(
                    f"stopped after the {self.settings.grace:g}s grace period")
                heapq.heappush(self.deadlines, (due, ticket.token, ticket, error))

    def _loop_inline(self) -> None:
        """The one-worker loop: actions run right here, with no hand-over at all.

        Plain asset tasks, by far the most numerous nodes, take a fused path here; every
        other node goes through :meth:`_visit` as with a worker pool.
        """
        queue, log = self.queue, self.log
        popleft, info = queue.popleft, log.info_on
        fast = not self.session.dry_run
        while (queue or self.delayed) and not self.stopping:
            if self.delayed:
                if not queue:
                    self._sleep_until_due()
                self._requeue_due()
                if not queue:
                    continue
            node = popleft()
            if fast and node.kind is _TASK and node.hooks is None:
                for dep in node._deps or ():
                    if dep._ready is not True:
                        break
                else:
                    if info:
                        log.info(_executing(node))
                    try:
                        node._action(node)  # type: ignore[misc]
                        asset = node._asset
                        try:
                            ready = node._ready = (
                                bool(asset.ready()) if type(asset) is Asset else observe(asset)
                            )
                        except TasktronautError:
                            raise
                        except Exception as e:
                            raise readiness_error(e) from e
                    except Exception as e:
                        if self._retry(node, e):
                            continue
                        self._failed(node, e)
                    else:
                        if ready:
                            node.status = _READY
                            if info:
                                log.info(f"{node.taskname}: Ready")
                        else:
                            node.status = NodeStatus.NOT_READY
                            self._report(node)
                    self._release(node)
                    continue
            if self._visit(node):
                try:
                    ready = _perform(node, log)
                except Exception as e:
                    if self._retry(node, e):
                        continue
                    self._failed(node, e)
                    self._release(node)
                else:
                    self._finished(node, True, ready)

    def _visit(self, node: Node) -> bool:
        """Act on a node whose requirements were all visited; True if its action should run."""
        kind = node.kind
        if kind is NodeKind.TASK or kind is NodeKind.STEP or node._action is not None:
            for dep in node._deps or ():
                if not dep.ready:
                    break
            else:
                if node.hooks is not None and node.hooks.cancelled():
                    node.status = NodeStatus.SKIPPED
                    node._ready = False
                    self._release(node)
                    return False
                if not self.session.dry_run:
                    if node.hooks is not None:
                        try:
                            node.hooks.starting(node)
                        except Exception as e:
                            self._failed(node, e)
                            self._release(node)
                            return False
                    return True
                self.log.info(f"{node.taskname}: SKIPPING (DRY RUN)")
            node._ready = False
        elif kind is NodeKind.COLLECTION or kind is NodeKind.JOIN or kind is NodeKind.EXTERNAL:
            node._ready = None
        node.status = _READY if node.ready else NodeStatus.NOT_READY
        self._report(node)
        self._release(node)
        return False

    def _finished(self, node: Node, ok: bool, value: Any) -> None:
        if ok and value and self.store is not None and node.hooks is not None:
            try:
                records.record(node, self.store)
            except Exception as e:
                self._failed(node, e)
                self._release(node)
                return
        if ok:
            node.status = _READY if value else NodeStatus.NOT_READY
            self._report(node)
        elif self._retry(node, value):
            return
        else:
            self._failed(node, value)
        self._release(node)

    def _retry(self, node: Node, error: BaseException) -> bool:
        """Schedule another attempt if the node's options allow one for this error."""
        options = node.options
        if (
            node.attempt >= options.max_attempts
            or self.stopping
            or isinstance(error, _NEVER_RETRIED)
            or not isinstance(error, options.retry_on)
        ):
            return False
        delay = options.delay(node.attempt)
        text = str(error).strip().splitlines()
        self.log.warning(
            f"{node.taskname}: Attempt {node.attempt} of {options.max_attempts} failed: "
            f"{text[0] if text else type(error).__name__}; retrying in {delay:.3g}s"
        )
        node.error = error
        node.attempt += 1
        self._sequence += 1
        heapq.heappush(self.delayed, (time.monotonic() + delay, self._sequence, node))
        return True

    def _requeue_due(self) -> None:
        """Put the retries whose wait is over back in front of the queue."""
        delayed, now = self.delayed, time.monotonic()
        while delayed and delayed[0][0] <= now:
            self.queue.appendleft(heapq.heappop(delayed)[2])

    def _until_due(self) -> float | None:
        due = [t[0][0] for t in (self.delayed, self.deadlines) if t]
        return max(0.0, min(due) - time.monotonic()) if due else None

    def _sleep_until_due(self) -> None:
        """Wait for the next retry, in short slices so that Ctrl-C is noticed."""
        while self.delayed and not self.stopping:
            remaining = self.delayed[0][0] - time.monotonic()
            if remaining <= 0:
                return
            time.sleep(min(remaining, 0.05))

    def _failed(self, node: Node, error: BaseException) -> None:
        node.error = error
        node._ready = False
        name = node.taskname
        hooks = node.hooks
        if isinstance(error, CancelProcessError):
            node.status = NodeStatus.CANCELLED
            self.log.warning(f"{name}: Cancelled: {error}")
            if hooks is None or not self._call_hook(node, hooks.cancel, node, error):
                self.cancelled = self.stopping = True
            self.cancel_remote = True
            return
        node.status = NodeStatus.FAILED
        text = str(error).strip().splitlines()
        self.log.error(f"{name}: Task failed: {text[0] if text else type(error).__name__}")
        if self.log.debug_on:
            for chunk in traceback.format_exception(error):
                for line in chunk.rstrip("\n").split("\n"):
                    self.log.emit(DEBUG, f"{name}: Task failed: {line}")
        if hooks is not None:
            self._call_hook(node, hooks.failed, node, error)
        if self.settings.fail_fast:
            self.stopping = True

    def _call_hook(self, node: Node, hook: Callable[..., Any], *args: Any) -> Any:
        """Call a definition's hook; a hook that raises is logged, never fatal to the run."""
        try:
            return hook(*args)
        except Exception as e:
            self.log.error(f"{node.taskname}: Hook {hook.__name__} failed: {e}")
            return None

    def _release(self, node: Node) -> None:
        """Tell the node's dependents it was visited; queue those now waiting for nothing."""
        if self.listener is not None:
            self.listener(node)
        if self.log.debug_on and node.status is not NodeStatus.FAILED and (
            node.kind is not NodeKind.JOIN
        ):
            self.log.emit(DEBUG, f"{node.taskname}: Task completed")
        dependents = node._dependents
        if dependents is None:
            return
        node._dependents = None
        if not isinstance(dependents, list):
            dependents._pending -= 1
            if not dependents._pending:
                self.queue.append(dependents)
            return
        queue = self.queue
        for dependent in dependents:
            dependent._pending -= 1
            if not dependent._pending:
                queue.append(dependent)

    def _report(self, node: Node) -> None:
        log = self.log
        if node.kind is NodeKind.JOIN:
            return
        if node.status is _READY or node.status is _ALREADY:
            if log.info_on:
                log.info(f"{node.taskname}: Ready")
            return
        if log.warning_on:
            for line in readiness_lines(node):
                log.warning(line)

    def _wrap_up(self) -> None:
        """Mark what never started, and say so if the run was stopped early."""
        for _, _, node in self.delayed:
            self._failed(node, node.error or TasktronautError("not retried: the run stopped"))
        self.delayed.clear()
        if not self.stopping:
            return
        skipped = 0
        for node in self.order:
            if node.status is NodeStatus.NEW:
                node.status = NodeStatus.SKIPPED
                node._dependents = None
                skipped += 1
        if skipped:
            if self.interrupted:
                reason = "Interrupted"
            elif self.cancelled:
                reason = "Cancelled"
            else:
                reason = "Stopped after a failure"
            self.log.warning(f"{reason}: {skipped} task(s) not started")
            self.root._ready = False
            self._report(self.root)

    def _log_plan(self) -> None:
        log = self.log
        for title in ("Task Graph",):
            log.emit(DEBUG, "─" * len(title))
            log.emit(DEBUG, title)
            log.emit(DEBUG, "─" * len(title))
        for line in tree_lines(self.root):
            log.emit(DEBUG, line)
        title = "Execution"
        log.emit(DEBUG, "─" * len(title))
        log.emit(DEBUG, title)
        log.emit(DEBUG, "─" * len(title))

    @contextmanager
    def _interrupts(self) -> Iterator[None]:
        """First Ctrl-C or SIGTERM: start nothing new, let running actions finish (worker
        processes get a grace period). A second one aborts."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, frame: Any) -> None:
            if self.interrupted:
                if signum == signal.SIGTERM:
                    raise SystemExit(128 + signum)
                raise KeyboardInterrupt
            self.interrupted = self.stopping = True
            self.session.interrupted = signum
            name = signal.Signals(signum).name
            self.log.warning(f"Interrupted by {name}: finishing running tasks "
                             "(again to abort)")
            self._stop_remote_after_grace()
            self.events.put(None)

        previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)


def _executing(node: Node) -> str:
    if node.attempt == 1:
        return f"{node.taskname}: Executing"
    return f"{node.taskname}: Executing (attempt {node.attempt} of {node.options.max_attempts})"


def _perform(node: Node, log: RunLog) -> bool:
    """Run a node's action on a worker, then observe its assets again."""
    if log.info_on and node.kind is not NodeKind.PROCESS:
        log.info(_executing(node))
    action = node._action
    if action is not None:
        node.result = action(node)
    return reobserve(node)
