"""The asyncio executor: coroutines of one run on one event loop.

Async actions of a run share one event loop: a thread of their own that the executor starts
on first use, or the caller's running loop when the run was started with ``await
node.arun(...)``. ``capacity`` (the run's ``async_limit``) bounds how many run at once; the
engine parks the rest. ``cancel(ticket)`` cancels the coroutine (a timeout, a stop), which is
a real stop, unlike a thread's.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from tasktronaut.logs import RunLog
from tasktronaut.model.protocols import Events

AsyncJob = Callable[[], Awaitable[Any]]


class AsyncExecutor:
    """Runs jobs that return awaitables on one event loop, at most ``limit`` at a time."""

    remote = False

    def __init__(self, limit: int = 100, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.capacity = limit
        self._given = loop
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._events: Events | None = None
        self._running: dict[int, asyncio.Task[Any]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._incoming: list[tuple[Any, AsyncJob]] = []
        self._woken = False
        self._lock = threading.Lock()

    def start(self, events: Events, log: RunLog) -> None:
        self._events = events

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is not None:
            return self._loop
        if self._given is not None:
            self._loop = self._given
            return self._loop
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        self._thread = threading.Thread(target=serve, daemon=True, name="tasktronaut-async")
        self._thread.start()
        ready.wait()
        self._loop = loop
        return loop

    def submit(self, ticket: Any, job: AsyncJob) -> None:
        """Queue the attempt; :meth:`flush` hands what is queued to the loop at once (one
        wake-up of the loop for a burst of attempts, not one each)."""
        self._ensure_loop()
        with self._lock:
            self._incoming.append((ticket, job))

    def flush(self) -> None:
        """Hand the queued attempts to the loop (the engine calls it before it waits)."""
        with self._lock:
            if not self._incoming or self._woken or self._loop is None:
                return
            self._woken = True
            loop = self._loop
        loop.call_soon_threadsafe(self._take_incoming)

    def _take_incoming(self) -> None:
        """On the loop: start every attempt handed over since the last wake-up."""
        loop = asyncio.get_running_loop()
        with self._lock:
            incoming, self._incoming = self._incoming, []
            self._woken = False
        for ticket, job in incoming:
            task = loop.create_task(self._attempt(ticket, job))
            with self._lock:
                self._running[id(ticket)] = task

    async def _attempt(self, ticket: Any, job: AsyncJob) -> None:
        events = self._events
        assert events is not None
        me = asyncio.current_task()
        if me is not None:
            self._tasks.add(me)
            me.add_done_callback(self._tasks.discard)
        try:
            event = (ticket, True, await job())
        except asyncio.CancelledError as e:
            event = (ticket, False, e)  # the engine gave up on it already: ignored there
        except BaseException as e:
            event = (ticket, False, e)
        finally:
            with self._lock:
                self._running.pop(id(ticket), None)
        events.put(event)

    def cancel(self, ticket: Any) -> None:
        """Cancel the coroutine of this attempt (or drop it, if it has not started)."""
        with self._lock:
            task = self._running.pop(id(ticket), None)
            self._incoming = [(t, j) for t, j in self._incoming if t is not ticket]
            loop = self._loop
        if task is not None and loop is not None:
            loop.call_soon_threadsafe(task.cancel)

    def shutdown(self) -> None:
        """Cancel what still runs and let it unwind; stop the loop if this executor
        started it (the caller's loop, for ``arun``, is left running)."""
        with self._lock:
            running, self._running = list(self._running.values()), {}
            self._incoming = []
        loop, thread = self._loop, self._thread
        for task in running:
            if loop is not None:
                loop.call_soon_threadsafe(task.cancel)
        self._loop = self._thread = None
        if loop is None:
            return
        if self._tasks:
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(_unwind(self._tasks), loop).result(timeout=5)
        if thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=5)
            if not thread.is_alive():
                loop.close()


async def _unwind(tasks: set[asyncio.Task[Any]]) -> None:
    """Wait (briefly) for cancelled attempts to run their ``except``/``finally`` blocks."""
    pending = [t for t in tasks if not t.done()]
    if pending:
        await asyncio.wait(pending, timeout=4)
