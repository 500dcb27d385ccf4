"""The run loop: wires the schedule, dispatch, retries, the stop reason, records and events.

The units do not call each other; the loop passes data between them (Dask's shape) and
observers hear about it through the bus. A node is visited once all its requirements are: a
task whose requirements are all ready runs its action (here, on a worker thread, in a worker
process or on Dask), then its assets are checked again; anything else only reports its
readiness, as iotaa does. Whatever executor ran an action, what follows is one path:
:meth:`_Run.finish`. Ctrl-C stops new work from starting, lets running actions finish and
reports; a second Ctrl-C aborts.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from tasktronaut import _gc
from tasktronaut.engine import readiness, records
from tasktronaut.engine.dispatch import Dispatcher, stop_now
from tasktronaut.engine.events import Bus
from tasktronaut.engine.observers import DefinitionHooks, Listener
from tasktronaut.engine.outcome import (
    DROPPED,
    failed,
    perform,
    perform_settled,
    skipped,
    succeeded,
    visit,
)
from tasktronaut.engine.reporter import Reporter
from tasktronaut.engine.retry import next_delay
from tasktronaut.engine.schedule import Schedule
from tasktronaut.engine.settings import RunSettings
from tasktronaut.engine.stop import Stop, StopReason, signals
from tasktronaut.errors import CancelProcessError, TasktronautError
from tasktronaut.logs import RunLog, current_log
from tasktronaut.model.node import Node, NodeKind, NodeStatus, walk
from tasktronaut.model.protocols import Grown, Owner, current_session

_ALREADY, _NEW, _READY = NodeStatus.ALREADY_READY, NodeStatus.NEW, NodeStatus.READY
_TASK, _STEP = NodeKind.TASK, NodeKind.STEP


def run(root: Node, *, threads: int = 1, processes: int = 0, executor: Any = None,
        dry_run: bool = False, log: Any = None, fail_fast: bool = False,
        listener: Callable[[Node], Any] | None = None, state: Any = None,
        grace: float = 10.0, observers: Sequence[Any] = (),
        resources: dict[str, int] | None = None, async_limit: int = 100,
        loop: Any = None, restart: bool = False, force: Any = (),
        force_downstream: Any = ()) -> Node:
    """Run the graph below ``root`` and return the root that was run.

    ``state`` (a path, or a store from :mod:`tasktronaut.state`) records each completed
    process step per process identifier; a run with the same identifier skips what is
    recorded and resumes at the first step that is not. ``observers`` hear the run's events
    (see :mod:`tasktronaut.engine.events`). ``resources`` limits how much of each named
    resource the attempts in flight may hold (``{"db": 2}``); ``async_limit`` how many async
    actions run at once, on ``loop`` if given (``arun``) or on a loop thread of the run's own.
    ``restart=True`` forgets what the store recorded for the identifiers of this run and
    starts over. ``force`` names nodes to treat as not ready for this run;
    ``force_downstream`` also everything requiring them.
    """
    settings = RunSettings(
        threads=threads, processes=processes, executor=executor, dry_run=dry_run,
        fail_fast=fail_fast, listener=listener, state=state, grace=grace,
        observers=tuple(observers), resources=dict(resources or {}), async_limit=async_limit,
        loop=loop, restart=restart, force=force, force_downstream=force_downstream)
    root, order = _graph(root, settings, log)
    with records.opened(state, restart, dry_run) as store:
        _Run(root, order, root._session, settings, store).execute()
    return root


def _graph(root: Node, settings: RunSettings, log: Any) -> tuple[Node, list[Node]]:
    """The root to run (built afresh if it ran before; force and freshness applied) and its
    nodes, requirements first; its owner is made ready for a new run."""
    if root.status is not _NEW:
        if root._rebuild is None:
            raise TasktronautError(f"Task '{root.taskname}' has already run and cannot be rebuilt")
        root = root._rebuild()
    root, forced = readiness.prepare(root, settings)  # force, freshness: engine/readiness.py
    owner = root._session
    if owner is None:
        owner = root._session = Owner()
    owner.cancel.clear()
    owner.interrupted = None
    if log is not None:
        owner.log = RunLog(log)
    owner.dry_run = settings.dry_run
    if forced is not None:
        order = forced
    else:
        order = owner.order if owner.root is root and owner.order is not None else walk(root)
    owner.order = None
    return root, order


class _Settling:
    """What happens after an attempt, whatever ran it: the one path for every executor."""

    schedule: Schedule
    stop: Stop
    bus: Bus
    store: Any
    settings: RunSettings
    log: RunLog
    order: list[Node]
    acted: bool
    cancel_remote: bool

    def finish(self, node: Node, ok: bool, value: Any) -> None:
        """After an attempt, whatever ran it: record, retry, or settle the node."""
        if ok:
            if value is DROPPED:
                skipped(node)
            else:
                if value and self.store is not None and node.hooks is not None:
                    try:
                        records.record(node, self.store)
                    except Exception as e:
                        self.fail(node, e)
                        return
                if type(node.result) is Grown:
                    self._grow(node.result)
                succeeded(node, value)
                self.acted = True
            self.release(node)
            return
        delay = next_delay(node, value, self.stop.reason is not None)
        if delay is None:
            self.fail(node, value)
            return
        node.error = value
        node.attempt += 1
        self.schedule.delay(node, time.monotonic() + delay)
        if self.bus.node_retrying:
            self.bus.emit(self.bus.node_retrying, node, value, delay)

    def _grow(self, grown: Grown) -> None:
        """An action added nodes (a dynamic ``each``): they join the schedule (what a state
        store recorded of them is restored first) before their maker is released."""
        nodes = grown.nodes
        if self.store is not None:
            records.restore(nodes, self.store, self.log)
        self.schedule.extend(nodes, grown.join, grown.exits)
        self.order.extend(nodes)

    def fail(self, node: Node, error: BaseException) -> None:
        """The node failed for good; a cancel stops its process (or the run)."""
        cancel = isinstance(error, CancelProcessError)
        failed(node, error, cancel)
        if cancel:
            stop_now(node, error, self.stop, False, self.log)
            self.cancel_remote = True
        elif self.settings.fail_fast:
            self.stop.request(StopReason.FAILURE)
        self.release(node)

    def release(self, node: Node) -> None:
        """The node has its final status: tell observers, free its dependents."""
        self.schedule.release(node)
        bus = self.bus
        if bus.ready_heard or (bus.node_finished and node.status is not _READY):
            bus.finished(node)


class _Run(_Settling):
    """One execution of a graph."""

    def __init__(self, root: Node, order: list[Node], owner: Owner, settings: RunSettings,
                 store: Any) -> None:
        self.root, self.order, self.owner = root, order, owner
        self.settings, self.store, self.log = settings, store, owner.log
        self.stop = Stop()
        self.cancel_remote = False  # some attempts elsewhere must be stopped
        self.acted = False  # whether an action has completed in this run
        if store is not None:
            records.restore(order, store, self.log)
        self.schedule = Schedule(order)
        if store is None:
            records.warn_uncached(self.schedule.tuned, self.log)
        self.reporter = Reporter(self.log) if Reporter.wanted(self.log) else None
        self.bus = Bus(_observers(self.reporter, self.schedule, settings, self.log), self.log)
        self.dispatch = Dispatcher(settings, self.log, self.bus, self.stop, self.schedule.timed,
                                   self.schedule.fifo)
        self.plain = (settings.executor is None and not settings.dry_run
                      and not self.bus.around_attempt and not settings.resources)
        """Whether plain tasks may take :meth:`start`'s short path (nothing to wrap)."""
        self.here = self.dispatch.here
        self.queue = self.schedule.queue if self.schedule.fifo else None
        if settings.resources:
            self.dispatch.check_resources(order)

    def request_cancel(self) -> None:
        """Stop starting new work (called from any thread, e.g. by ``Node.cancel``)."""
        self.stop.request(StopReason.CANCELLED)
        self.cancel_remote = True
        self.dispatch.wake()

    def execute(self) -> None:
        bus = self.bus
        with _current(self), _gc.frozen():
            if bus.run_started:
                bus.emit(bus.run_started, self.root, self.order)
            forcing = self.settings.force or self.settings.force_downstream
            if self.root.status is not _ALREADY or forcing:
                try:
                    with signals(self.stop, self._interrupted):
                        self._drive()
                finally:
                    self.dispatch.shutdown()
                self._wrap_up()
            if bus.run_finished:
                bus.emit(bus.run_finished, self.root, self.stop.reason)

    def _drive(self) -> None:
        """Start what may start; otherwise take outcomes; otherwise wait for a retry."""
        schedule, stop, start = self.schedule, self.stop, self.start
        queue = schedule.queue if schedule.fifo else None  # read directly: the hot path
        while True:
            if stop.reason is None:
                if schedule.waiting:
                    schedule.requeue_due(time.monotonic())
                if queue is None:
                    node = schedule.pop()
                elif queue:
                    node = queue.popleft()
                else:
                    node = None
                if node is not None:
                    start(node)
                    continue
            elif schedule.cleanups and self._drain_for_cleanups():
                continue
            if not self._wait():
                return

    def _wait(self) -> bool:
        """Nothing may start now: take outcomes, start what found room, or wait for a
        retry's time. False when there is nothing left to wait for."""
        dispatch, stop = self.dispatch, self.stop
        if dispatch.in_flight:
            self._collect()
        elif dispatch.parked and stop.reason is None:
            for node in dispatch.unpark():
                self.start(node)
        elif self.schedule.waiting and stop.reason is None:
            _sleep_until_due(self.schedule, stop)
        else:
            return False
        return True

    def _drain_for_cleanups(self) -> bool:
        """After a stop, nothing new starts but cleanup steps: what would have started is
        skipped (so that the cleanups after it can come), and a cleanup starts. True if a
        node was taken off the queue."""
        node = self.schedule.pop()
        if node is None:
            return False
        if node.options.always:
            self.start(node)
        else:
            skipped(node)
            self.release(node)
        return True

    def start(self, node: Node) -> None:
        """Visit a node whose requirements were all visited; run or submit its action."""
        if self.plain and ((node.kind is _TASK and node.hooks is None) or _plain_step(
                self, node)) and node.options.executor is None and (
                self.here or _nothing_else(self, node)):
            # The common case, with nothing to decide: a plain task (or step) whose
            # requirements are all ready runs right here (what visit() and route() conclude).
            for dep in node._deps or ():
                if dep._ready is not True:
                    break
            else:
                bus = self.bus
                if bus.node_started:
                    bus.emit(bus.node_started, node)
                error = perform_settled(node)
                if error is not None:
                    self.finish(node, False, error)
                    return
                self.acted = True
                self.schedule.release(node)  # release() inlined: 1.3 % of a no-op task
                if bus.ready_heard or (bus.node_finished and node.status is not _READY):
                    bus.finished(node)
                return
        self._start_visited(node)

    def _start_visited(self, node: Node) -> None:
        """Every other node: visit it, then run it here or hand it to its executor."""
        if not visit(node, self.settings.dry_run, self.log, self.acted):
            self.release(node)
            return
        dispatch = self.dispatch
        executor = dispatch.route(node, here=self.here or _nothing_else(self, node))
        if not dispatch.has_room(executor, node):
            dispatch.park(executor, node)
            return
        if node.hooks is not None:
            try:
                node.hooks.starting(node)
            except Exception as e:
                self.fail(node, e)
                return
        if executor is None:
            self._perform_here(node)
        elif (outcome := dispatch.submit(node, executor)) is not None:
            self.finish(*outcome)

    def _perform_here(self, node: Node) -> None:
        bus, dispatch = self.bus, self.dispatch
        if bus.node_started:
            bus.emit(bus.node_started, node)
        dispatch.hold(node)
        try:
            if bus.around_attempt:
                with bus.attempt(node):
                    ok, value = perform(node)
            else:
                ok, value = perform(node)
        finally:
            dispatch.hold(node, -1)
        self.finish(node, ok, value)

    def _collect(self) -> None:
        """Take the outcomes of attempts (waiting at most until the next deadline or retry),
        then start what was waiting for room. Called only while something is in flight."""
        dispatch, finish = self.dispatch, self.finish
        if self.cancel_remote:
            self.cancel_remote = False
            reason = self.stop.reason
            stopped = dispatch.stop_cancelled(
                whole_run=reason is StopReason.CANCELLED or reason is StopReason.INTERRUPTED,
                remote=reason is not StopReason.INTERRUPTED)  # those get a grace period
            for outcome in stopped:
                finish(*outcome)
            if stopped:
                return  # what they released may start now; wait on the next round
        due = [t for t in (self.schedule.next_due(), dispatch.next_deadline()) if t is not None]
        timeout = max(0.0, min(due) - time.monotonic()) if due else None
        for outcome in dispatch.collect(timeout):
            finish(*outcome)
        for outcome in dispatch.expire(time.monotonic()):
            finish(*outcome)
        if self.stop.reason is None:
            for node in dispatch.unpark():
                self.start(node)

    def _interrupted(self, signum: int) -> None:
        """The first Ctrl-C or SIGTERM: running actions finish; processes get a grace."""
        self.log.warning(f"Interrupted by {signal.Signals(signum).name}: finishing running "
                         "tasks (again to abort)")
        self.dispatch.grace(self.settings.grace)
        self.cancel_remote = True  # coroutines are cancelled, not waited for
        self.dispatch.wake()

    def _wrap_up(self) -> None:
        """Fail retries that never came, skip what never started, and say so."""
        for node in self.schedule.drop_delayed():
            self.fail(node, node.error or TasktronautError("not retried: the run stopped"))
        if self.stop.reason is not None:
            _skip_unstarted(self)


def _observers(reporter: Reporter | None, schedule: Schedule, settings: RunSettings,
               log: RunLog) -> list[Any]:
    """The observers of a run: its log lines, its definitions' hooks, ``listener=`` (each
    only if it has something to do), then the run's own ``observers=``."""
    observers: list[Any] = []
    if reporter is not None:
        observers.append(reporter)
    if schedule.hooked:
        observers.append(DefinitionHooks(log))
    if settings.listener is not None:
        observers.append(Listener(settings.listener))
    observers.extend(settings.observers)
    return observers


def _plain_step(run: _Run, node: Node) -> bool:
    """Whether a process step may start as a plain task does: no state store records it,
    and its hooks have nothing to decide first (see ``NodeHooks.plain``)."""
    hooks = node.hooks
    return (node.kind is _STEP and run.store is None and hooks is not None
            and hooks.plain(node))


def _nothing_else(run: _Run, node: Node) -> bool:
    """Whether a thread action runs in the loop's thread on a pool run: nothing else is in
    flight or ready to start (the ready queue read directly if FIFO), so no other work could
    use the time, and it has no timeout. A chain of tasks does not bounce between threads."""
    if run.dispatch.in_flight or node.options.timeout is not None:
        return False
    queue = run.queue
    return not (run.schedule if queue is None else queue)


def _sleep_until_due(schedule: Schedule, stop: Stop) -> None:
    """Wait for the next retry, in short slices so that Ctrl-C is noticed."""
    while stop.reason is None:
        due = schedule.next_due()
        remaining = 0.0 if due is None else due - time.monotonic()
        if remaining <= 0:
            return
        time.sleep(min(remaining, 0.05))


@contextmanager
def _current(run: _Run) -> Iterator[None]:
    """The run's graph owner and logger are current (task functions called by actions build
    into the same graph); the owner knows the run while it lasts (for ``Node.cancel``)."""
    owner = run.owner
    tokens = current_session.set(owner), current_log.set(run.log)
    owner.active = run
    try:
        yield
    finally:
        owner.active = None
        owner.interrupted = run.stop.signal
        current_log.reset(tokens[1])
        current_session.reset(tokens[0])


def _skip_unstarted(run: _Run) -> None:
    """A stopped run: what never started is skipped, and the run says how much."""
    never = [node for node in run.order if node.status is _NEW]
    for node in never:
        skipped(node)
        node._dependents = None
        if run.bus.node_finished:
            run.bus.finished(node)
    # what never started: also queued attempts dropped when the run stopped
    tasks = sum(1 for node in run.order
                if node.status is NodeStatus.SKIPPED and node.kind is not NodeKind.JOIN)
    if tasks:
        run.root._ready = False
        if run.reporter is not None and run.stop.reason is not None:
            run.reporter.stopped(run.stop.reason, tasks, run.root)
