"""Where actions run: the calling thread, a thread pool, worker processes, or Dask.

The engine hands an executor a job with ``submit(ticket, job)``; when the job ends the
executor puts ``(ticket, ok, value)`` on the run's event queue (the job's return value if
``ok``, else the exception it raised). A ticket stands for one attempt of one node; executors
only pass it back. ``cancel(ticket)`` stops an attempt the engine gave up on (a timeout, a
stop): a thread cannot be killed, so it is abandoned and replaced; a worker process is killed.

Each executor has a ``capacity`` (jobs in flight at once) and says whether it is ``remote``: a
remote executor receives a picklable job (the definition layer makes it) instead of a closure,
and the engine checks readiness in the parent afterwards. One executor a module.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from tasktronaut.errors import WorkerError
from tasktronaut.model.protocols import Executor, is_executor
from tasktronaut.workers.threads import InlineExecutor, ThreadExecutor

if TYPE_CHECKING:
    from tasktronaut.workers.asyncio import AsyncExecutor
    from tasktronaut.workers.dask import DaskExecutor
    from tasktronaut.workers.processes import ProcessExecutor, RemoteTraceback

_LAZY = {"AsyncExecutor": "asyncio", "DaskExecutor": "dask", "ProcessExecutor": "processes",
         "RemoteTraceback": "processes"}
"""Executors whose modules import asyncio or multiprocessing load on first use."""


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"tasktronaut.workers.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'tasktronaut.workers' has no attribute {name!r}")

__all__ = [
    "AsyncExecutor",
    "DaskExecutor",
    "Executor",
    "InlineExecutor",
    "ProcessExecutor",
    "RemoteTraceback",
    "ThreadExecutor",
    "WorkerError",
    "is_executor",
]
