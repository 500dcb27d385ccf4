"""Thread executors: the calling thread itself, and a pool of worker threads.

Both report an attempt's outcome as ``(ticket, ok, value)`` on the run's event queue. A thread
cannot be killed: an attempt the engine gives up on is abandoned and its thread replaced.
"""

from __future__ import annotations

import contextvars
import threading
from queue import SimpleQueue
from typing import Any

from tasktronaut.logs import RunLog
from tasktronaut.model.protocols import Events, Job


class InlineExecutor:
    """One worker: the calling thread itself, so a job costs no hand-over at all."""

    capacity = 1
    remote = False

    def __init__(self) -> None:
        self._events: Events | None = None

    def start(self, events: Events, log: RunLog) -> None:
        self._events = events

    def submit(self, node: Any, job: Job) -> None:
        assert self._events is not None
        try:
            self._events.put((node, True, job()))
        except Exception as e:
            self._events.put((node, False, e))

    def cancel(self, node: Any) -> None:
        """Jobs here are over by the time anyone could cancel them."""

    def shutdown(self) -> None:
        """Nothing to stop."""


class ThreadExecutor:
    """A pool of at most ``threads`` worker threads, each in a copy of the run's context.

    Threads start as jobs arrive (a run of two steps with ``threads=3000`` starts two), and
    jobs may queue behind busy workers: ``queue_depth`` jobs per thread (``fifo_queue_depth``
    when no node has a priority), so a burst of short actions costs no hand-over per action.
    The engine decides what may queue (a job with a timeout only goes to an idle worker, so
    its deadline counts from its start). Each :meth:`start` begins afresh, so one executor
    object serves any number of runs.
    """

    remote = False
    queue_depth = 16
    fifo_queue_depth = 64
    """Jobs per thread when no node has a priority: queued jobs then start in the order
    the schedule would give them anyway, and fewer hand-overs between threads pay."""

    def __init__(self, threads: int) -> None:
        self.capacity = threads
        self._todo: SimpleQueue[tuple[Any, Job] | None] = SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._running: dict[int, Any] = {}
        self._retired: set[int] = set()
        self._events: Events | None = None
        self._lock = threading.Lock()

    def start(self, events: Events, log: RunLog) -> None:
        self._events = events
        self._todo = SimpleQueue()
        self._threads, self._running, self._retired = [], {}, set()

    def _add_thread(self) -> None:
        context = contextvars.copy_context()
        thread = threading.Thread(target=context.run, args=(self._work, self._todo),
                                  daemon=True, name=f"tasktronaut-thread-{len(self._threads)}")
        self._threads.append(thread)
        thread.start()

    def _work(self, todo: SimpleQueue[tuple[Any, Job] | None]) -> None:
        events, me = self._events, threading.get_ident()
        assert events is not None
        while (item := todo.get()) is not None:
            ticket, job = item
            self._running[me] = ticket
            try:
                event = (ticket, True, job())
            except BaseException as e:
                event = (ticket, False, e)
            with self._lock:
                del self._running[me]
                retired = me in self._retired
            events.put(event)
            if retired:
                return

    def submit(self, ticket: Any, job: Job) -> None:
        self._todo.put((ticket, job))
        if len(self._threads) - len(self._retired) < self.capacity:
            self._add_thread()

    def cancel(self, ticket: Any) -> None:
        """Abandon the thread running this attempt (it cannot be killed); start another."""
        with self._lock:
            for ident, running in self._running.items():
                if running is ticket and ident not in self._retired:
                    self._retired.add(ident)
                    break
            else:
                return
        self._add_thread()

    def shutdown(self) -> None:
        for _ in self._threads:
            self._todo.put(None)
        self._threads = []
