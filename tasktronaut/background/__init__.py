"""Background runs: submit a run and return at once; workers run it; schedules submit runs.

``submit(Definition, **arguments)`` (or a ``@task`` function, or a root node either built)
records the run with a backend and returns a :class:`RunHandle` at once. The embedded
backend (the default) is a queue in the SQLite state file, served by :class:`Worker` objects
or ``tasktronaut worker`` processes; :class:`~tasktronaut.background.rq.RQBackend` and
:class:`~tasktronaut.background.dask.DaskBackend` send runs to RQ workers or a Dask cluster.
"""

from __future__ import annotations

import os
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from tasktronaut.background import schedules as _schedules
from tasktronaut.background.handle import Backend, RunHandle
from tasktronaut.background.queue import QueuedRun, SQLiteQueue, Status
from tasktronaut.background.schedules import Clock, FakeClock, Schedule, SystemClock
from tasktronaut.background.targets import Call, call_of, identifier_of
from tasktronaut.background.worker import Worker
from tasktronaut.model.node import Node
from tasktronaut.state import DEFAULT_STATE_PATH

__all__ = [
    "Backend",
    "Call",
    "Clock",
    "FakeClock",
    "QueuedRun",
    "RunHandle",
    "SQLiteQueue",
    "Schedule",
    "Status",
    "SystemClock",
    "Worker",
    "backend_for",
    "schedule",
    "submit",
]


_queues: dict[str, SQLiteQueue] = {}
_queues_lock = threading.Lock()


def _shared_queue(path: str | os.PathLike[str]) -> SQLiteQueue:
    """One queue per state file and process, shared by every submit and handle."""
    key = str(Path(path).resolve())
    with _queues_lock:
        queue = _queues.get(key)
        if queue is None or queue.closed:
            queue = _queues[key] = SQLiteQueue(path)
        return queue


def backend_for(backend: Any = None, state: Any = None) -> Any:
    """The backend ``backend`` stands for: an object with ``submit``/``get`` as is, a
    ``redis://`` URL an RQ backend, and ``None`` the embedded queue in ``state`` (default
    ``.tasktronaut/state.db``; one queue object per file and process)."""
    if backend is None:
        if isinstance(state, SQLiteQueue):
            return state
        if state is None or isinstance(state, (str, os.PathLike)):
            return _shared_queue(DEFAULT_STATE_PATH if state is None else state)
        return SQLiteQueue(state)
    if isinstance(backend, str) and backend.startswith(("redis://", "rediss://", "unix://")):
        from tasktronaut.background.rq import RQBackend

        return RQBackend(backend)
    if isinstance(backend, (str, os.PathLike)):
        return _shared_queue(backend)
    return backend


def submit(target: Any, *args: Any, identifier: str | None = None, backend: Any = None,
           state: Any = None, options: dict[str, Any] | None = None,
           settings: dict[str, Any] | None = None, **arguments: Any) -> RunHandle:
    """Submit a run of ``target`` and return its handle at once; nothing runs here.

    ``target`` is a process class (arguments as keywords), a ``@task`` function (its
    arguments), or a root node built from either. ``settings`` are run settings for the
    worker (``threads``, ``processes``, ``fail_fast``, ``restart``, ...). A process run's
    identifier is its process identifier, so resubmitting a finished identifier resumes it.
    """
    if isinstance(target, Node) and identifier is None:
        identifier = identifier_of(target)
    call = call_of(target, args, arguments, options)
    where = backend_for(backend, state)
    return RunHandle(where, where.submit(call, identifier, settings or {}))


def schedule(target: Any, *, name: str | None = None, every: float | None = None,
             cron: str | None = None, at: datetime | float | None = None,
             catch_up: bool = False, state: Any = None, options: dict[str, Any] | None = None,
             settings: dict[str, Any] | None = None, clock: Clock | None = None,
             **arguments: Any) -> Schedule:
    """Add a schedule that workers of ``state`` follow: ``every`` seconds, on a ``cron``
    expression, or once ``at`` a time. ``name`` defaults to the target's name; adding a
    schedule of an existing name replaces it."""
    call = call_of(target, (), arguments, options)
    label = name or call.target.rpartition(":")[2]
    now = None if clock is None else clock.now()
    return _schedules.add(backend_for(None, state), label, call, settings or {}, every=every,
                          cron=cron, at=at, catch_up=catch_up, now=now)
