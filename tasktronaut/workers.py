"""Where actions run. The engine hands a worker a job; the outcome comes back as an event.

An executor has a ``capacity`` (how many jobs may be in flight), ``submit(node, job)`` and
``next_event()``, which blocks until some job finished and returns ``(node, ok, value)``:
the job's return value if ``ok``, else the exception it raised. Nothing else in the engine
knows how or where a job ran, so other kinds of workers plug in behind the same three calls.
"""

from __future__ import annotations

import contextvars
import threading
from collections import deque
from collections.abc import Callable
from queue import Empty, SimpleQueue
from typing import Any, Protocol

from tasktronaut.graph import Node

Event = tuple[Node, bool, Any]
Job = Callable[[], Any]


class Executor(Protocol):
    """The interface between the engine and its workers."""

    capacity: int

    def start(self) -> None:
        """Get ready to take jobs (called in the run's context)."""

    def submit(self, node: Node, job: Job) -> None:
        """Start ``job`` for ``node``; its outcome is returned later by ``next_event``."""

    def next_event(self, timeout: float | None = None) -> Event | None:
        """Wait for a job to finish and return ``(node, ok, value)``; ``None`` on timeout."""

    def shutdown(self) -> None:
        """Release the workers; jobs still running are abandoned, not waited for."""


class InlineExecutor:
    """One worker: the calling thread itself, so a job costs no hand-over at all."""

    capacity = 1

    def __init__(self) -> None:
        self._events: deque[Event] = deque()

    def start(self) -> None:
        """Nothing to start."""

    def submit(self, node: Node, job: Job) -> None:
        try:
            self._events.append((node, True, job()))
        except Exception as e:
            self._events.append((node, False, e))

    def next_event(self, timeout: float | None = None) -> Event | None:
        return self._events.popleft() if self._events else None

    def shutdown(self) -> None:
        """Nothing to stop."""


class ThreadExecutor:
    """A pool of ``threads`` worker threads, each running in a copy of the run's context."""

    def __init__(self, threads: int) -> None:
        self.capacity = threads
        self._todo: SimpleQueue[tuple[Node, Job] | None] = SimpleQueue()
        self._done: SimpleQueue[Event] = SimpleQueue()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for i in range(self.capacity):
            context = contextvars.copy_context()
            thread = threading.Thread(
                target=context.run, args=(self._work,), name=f"tasktronaut-worker-{i}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    def _work(self) -> None:
        todo, done = self._todo, self._done
        while (item := todo.get()) is not None:
            node, job = item
            try:
                done.put((node, True, job()))
            except BaseException as e:
                done.put((node, False, e))

    def submit(self, node: Node, job: Job) -> None:
        self._todo.put((node, job))

    def next_event(self, timeout: float | None = None) -> Event | None:
        try:
            return self._done.get(timeout=timeout)
        except Empty:
            return None

    def shutdown(self) -> None:
        for _ in self._threads:
            self._todo.put(None)
        self._threads.clear()


def make_executor(threads: int, executor: Any) -> Executor:
    """The executor for a run's settings (``threads`` workers unless an object is given)."""
    if executor is not None and hasattr(executor, "submit") and hasattr(executor, "next_event"):
        return executor  # type: ignore[no-any-return]
    if threads == 1:
        return InlineExecutor()
    return ThreadExecutor(threads)
