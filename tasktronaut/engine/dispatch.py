"""Dispatch: where each node's action runs, tickets, timeouts, and the jobs that
run an action in another process together with what happens back here when they end.

Every attempt gets a :class:`Ticket`; an executor reports ``(ticket, ok, value)`` on the run's
event queue and a stale ticket (an attempt given up on) is ignored. Thread pools keep several
jobs queued per worker so that a burst of short tasks does not cost two context switches
each; a queued job checks, when it starts, that the run is not stopping and its process not
cancelled, and is dropped otherwise. A node with a timeout is only handed over when a worker
is free, so its deadline counts from when it really starts.

With one thread (and no timeouts) actions run in the loop's own thread: :meth:`route`
returns ``None`` and the loop calls :func:`~tasktronaut.engine.outcome.perform` itself,
with no hand-over at all.
"""

from __future__ import annotations

import functools
import heapq
import time
from queue import Empty, SimpleQueue
from typing import Any

from tasktronaut.engine.capacity import Capacity
from tasktronaut.engine.events import Bus
from tasktronaut.engine.outcome import DROPPED, aperform, perform
from tasktronaut.engine.retry import next_delay
from tasktronaut.engine.settings import RunSettings
from tasktronaut.engine.stop import Stop, StopReason
from tasktronaut.errors import (
    CancelProcessError,
    TaskTimeoutError,
    TasktronautError,
)
from tasktronaut.logs import RunLog
from tasktronaut.model.node import Node, NodeKind, reobserve
from tasktronaut.model.protocols import Event, Executor
from tasktronaut.workers import ThreadExecutor

Outcome = tuple[Node, bool, Any]
_ACTIONS = (NodeKind.TASK, NodeKind.STEP)


class Ticket:
    """One attempt of one node on one executor; a stale ticket's outcome is ignored."""

    __slots__ = ("executor", "node", "token")

    def __init__(self, node: Node, token: int, executor: Executor) -> None:
        self.node = node
        self.token = token
        self.executor = executor


def remote_job(node: Node) -> Any:
    """The picklable job that runs ``node``'s action in another process."""
    call = node.call
    maker = call[0].remote if isinstance(call, tuple) else getattr(call, "remote", None)
    if maker is None:
        raise TasktronautError(f"Task '{node.taskname}' cannot run in a worker process")
    return maker(node)


def finish_remote(node: Node, ok: bool, value: Any) -> tuple[bool, Any]:
    """Back in this process after a remote action: record it, observe the assets here."""
    finish = getattr(node.call, "finish", None)
    if finish is not None:
        finish(node, ok, value)
    if not ok:
        return False, value
    node.result = value
    try:
        return True, reobserve(node)
    except TasktronautError as e:
        return False, e


def give_up(ticket: Ticket, error: BaseException, log: RunLog) -> Outcome:
    """Stop (or abandon) an attempt that timed out or was cancelled; it failed with ``error``."""
    node = ticket.node
    ticket.executor.cancel(ticket)
    if node.hooks is not None:
        try:
            node.hooks.abandon(node)
        except Exception as e:
            log.error(f"{node.taskname}: abandoning its attempt failed: {e}")
    if ticket.executor.remote:
        finish_remote(node, False, error)
    return node, False, error


def local_job(node: Node, bus: Bus, stop: Stop, fail_fast: bool,
              log: RunLog) -> tuple[bool, Any]:
    """An attempt on a worker thread: dropped if the run stopped or the node's process was
    cancelled while it was queued; otherwise announced, wrapped and performed.

    A cancel (or, with ``fail_fast``, a final failure) takes effect here, before this worker
    takes its next job, so that nothing queued behind it starts; the loop's own handling of
    the outcome later finds it done (both are idempotent).
    """
    if not begins(node, bus, stop):
        return True, DROPPED
    if bus.around_attempt:
        with bus.attempt(node):
            outcome = perform(node)
    else:
        outcome = perform(node)
    if not outcome[0]:
        stop_now(node, outcome[1], stop, fail_fast, log)
    return outcome


def begins(node: Node, bus: Bus, stop: Stop) -> bool:
    """A queued attempt starts (and is announced), unless the run stopped or its process
    was cancelled meanwhile (a cleanup step starts all the same)."""
    hooks = node.hooks
    if not node.options.always and (
            stop.reason is not None or (hooks is not None and hooks.cancelled())):
        return False
    if bus.node_started:
        bus.emit(bus.node_started, node)
    return True


async def async_job(node: Node, bus: Bus, stop: Stop, fail_fast: bool,
                    log: RunLog) -> tuple[bool, Any]:
    """:func:`local_job` for an async action, on the run's event loop."""
    if not begins(node, bus, stop):
        return True, DROPPED
    if bus.around_attempt:
        with bus.attempt(node):
            outcome = await aperform(node)
    else:
        outcome = await aperform(node)
    if not outcome[0]:
        stop_now(node, outcome[1], stop, fail_fast, log)
    return outcome


def stop_now(node: Node, error: BaseException, stop: Stop, fail_fast: bool,
             log: RunLog) -> None:
    """What a final failure stops: a cancel its process (or the run); with ``fail_fast``,
    any other failure the run. Safe to call twice and from any thread."""
    if isinstance(error, CancelProcessError):
        handled = False
        if node.hooks is not None:
            try:
                handled = node.hooks.cancel(node, error)
            except Exception as e:  # its process is cancelled all the same
                handled = True
                log.error(f"{node.taskname}: on_cancelled hook raised {type(e).__name__}: {e}")
        if not handled:
            stop.request(StopReason.CANCELLED)
    elif fail_fast and next_delay(node, error, False) is None:
        stop.request(StopReason.FAILURE)


class Dispatcher:
    """The executors of one run, what is in flight on each, and the deadlines of attempts;
    the room they and the resources have is its :class:`~tasktronaut.engine.capacity.Capacity`."""

    def __init__(self, settings: RunSettings, log: RunLog, bus: Bus, stop: Stop,
                 timed: bool, fifo: bool = False) -> None:
        self.events: SimpleQueue[Event | None] = SimpleQueue()
        self.log, self.bus, self.stop = log, bus, stop
        self.here = settings.threads == 1 and not timed
        self.in_flight = 0
        self.capacity = capacity = Capacity(settings.resources, fifo)
        # The loop calls these per node: bound here, they cost no extra call.
        self.has_room, self.hold = capacity.has_room, capacity.hold
        self.park, self.unpark = capacity.park, capacity.unpark
        self.check_resources = capacity.check_resources
        self._settings = settings
        self._threads: ThreadExecutor | None = None
        self._process: Executor | None = None
        self._async: Executor | None = None
        self._limits = settings.resources
        self._started: list[Executor] = []
        self._busy = capacity.busy
        self._current: dict[int, Ticket] = {}
        self._deadlines: list[tuple[float, int, Ticket, BaseException]] = []
        self._token = 0

    @property
    def parked(self) -> int:
        """How many nodes wait for room on an executor."""
        return self.capacity.parked

    def route(self, node: Node, here: bool = False) -> Executor | None:
        """The executor for ``node``'s action; ``None`` to run it in the loop's thread.

        ``here``: a thread action runs in the loop's thread (the loop decides: with one
        thread, or when no other work could use the time).
        """
        if node.kind in _ACTIONS:
            choice = node.options.executor
            if choice is None:
                choice = self._settings.executor
        else:  # a process's own completion always runs beside the loop
            choice = None
        name = choice if choice is None else getattr(choice, "value", choice)
        if choice is None or name == "thread":
            if here:
                return None
            if self._threads is None:
                self._threads = ThreadExecutor(self._settings.threads)
            return self._start(self._threads)
        if name == "process":
            if self._process is None:
                from tasktronaut.workers.processes import ProcessExecutor

                self._process = ProcessExecutor(self._settings.processes or None)
            return self._start(self._process)
        if name == "async":
            if self._async is None:
                from tasktronaut.workers.asyncio import AsyncExecutor

                self._async = AsyncExecutor(self._settings.async_limit, self._settings.loop)
            return self._start(self._async)
        return self._start(choice)

    def _start(self, executor: Executor) -> Executor:
        if executor not in self._busy:
            executor.start(self.events, self.log)  # type: ignore[arg-type]
            self._started.append(executor)
            self._busy[executor] = 0
        return executor

    def submit(self, node: Node, executor: Executor) -> Outcome | None:
        """Hand ``node``'s attempt to ``executor``; an outcome if it could not be handed."""
        self._token += 1
        ticket = Ticket(node, self._token, executor)
        self._busy[executor] += 1
        self.in_flight += 1
        self._current[id(node)] = ticket
        if self._limits:
            self.hold(node)
        timeout = node.options.timeout
        if timeout is not None:
            error = TaskTimeoutError(node.taskname, timeout)
            heapq.heappush(self._deadlines,
                           (time.monotonic() + timeout, ticket.token, ticket, error))
        if not executor.remote:
            job = async_job if executor is self._async else local_job
            executor.submit(ticket, functools.partial(job, node, self.bus, self.stop,
                                                      self._settings.fail_fast, self.log))
            return None
        try:
            job = remote_job(node)
            if self.bus.node_started:
                self.bus.emit(self.bus.node_started, node)
            executor.submit(ticket, job)
        except Exception as e:
            self._settle(ticket)
            return node, False, e
        return None

    def _settle(self, ticket: Ticket) -> bool:
        """Take an attempt off the books; False if it was already given up on."""
        node = ticket.node
        if self._current.get(id(node)) is not ticket:
            return False
        del self._current[id(node)]
        self._busy[ticket.executor] -= 1
        self.in_flight -= 1
        if self._limits:
            self.hold(node, -1)
        return True

    def collect(self, timeout: float | None) -> list[Outcome]:
        """Wait up to ``timeout`` seconds for outcomes, then take every one available."""
        if self._async is not None:
            self._async.flush()  # type: ignore[attr-defined]
        events = self.events
        try:
            item = events.get(timeout=timeout) if timeout is None or timeout > 0 else (
                events.get_nowait())
        except Empty:
            return []
        outcomes: list[Outcome] = []
        while True:
            if item is not None:
                self._take(item, outcomes)
            try:
                item = events.get_nowait()
            except Empty:
                return outcomes

    def _take(self, item: Event, outcomes: list[Outcome]) -> None:
        ticket, ok, value = item
        if not self._settle(ticket):
            return
        node = ticket.node
        if ticket.executor.remote:
            ok, value = finish_remote(node, ok, value)
        elif ok:
            ok, value = value
        outcomes.append((node, ok, value))

    def wake(self) -> None:
        """Wake a loop waiting in :meth:`collect` (safe from signal handlers and threads)."""
        self.events.put(None)

    def next_deadline(self) -> float | None:
        """When the earliest running attempt times out (``None`` if none can)."""
        return self._deadlines[0][0] if self._deadlines else None

    def expire(self, now: float) -> list[Outcome]:
        """Give up on attempts past their deadline: stop (or abandon) them, fail them."""
        deadlines, outcomes = self._deadlines, []
        while deadlines and deadlines[0][0] <= now:
            _, _, ticket, error = heapq.heappop(deadlines)
            if self._settle(ticket):
                outcomes.append(give_up(ticket, error, self.log))
        return outcomes

    def stop_cancelled(self, whole_run: bool, remote: bool = True) -> list[Outcome]:
        """Stop attempts in worker processes (unless not ``remote``) and coroutines whose
        process (or run) was cancelled: processes cannot see ``context.cancelled``, and a
        coroutine can be cancelled for real, so they are stopped instead."""
        outcomes = []
        for ticket in list(self._current.values()):
            hooks = ticket.node.hooks
            cancelled = whole_run or (hooks is not None and hooks.cancelled())
            stoppable = (remote and ticket.executor.remote) or ticket.executor is self._async
            if stoppable and cancelled and self._settle(ticket):
                error = CancelProcessError(
                    "stopped: the run was interrupted" if self.stop.signal is not None
                    else "stopped: its process was cancelled")
                outcomes.append(give_up(ticket, error, self.log))
        return outcomes

    def grace(self, seconds: float) -> None:
        """After a signal: attempts in worker processes get ``seconds`` more, then stop."""
        due = time.monotonic() + seconds
        for ticket in list(self._current.values()):
            if ticket.executor.remote:
                error = TasktronautError(f"stopped after the {seconds:g}s grace period")
                heapq.heappush(self._deadlines, (due, ticket.token, ticket, error))

    def shutdown(self) -> None:
        """Stop every executor this run started."""
        for executor in self._started:
            executor.shutdown()
        self._started.clear()

