"""tasktronaut's side of the peer comparison: the workloads of ``bench_peers.py``.

The asset-task shapes (``fan-out``, ``chain``, ``layered``) are the task factories of
``bench_engine.py``, so both benchmarks time the same code; ``threads`` goes to the root call.
Two process workloads have no asset-task counterpart:

* ``process-each``: ``bench_workers.NoOps`` (a concurrent process whose builder makes one no-op step
  per item with ``each``), built and run in one call, ``NoOps.run(tasks=size)``;
* ``process-pool``: the same process with its steps on 2 worker processes,
  ``NoOps.run(tasks=size, executor="process", processes=2)``; starting the pool is part of
  the run and so of the time.

Used by ``peer_run.py``; see ``benchmarks/README.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import peer_shapes
from bench_engine import Counters, _chain_tasks, _fanout_tasks, _layered_tasks, quiet_logging
from bench_workers import NoOps

Timed = Callable[[], "str | None"]
Trial = Callable[[], Timed]

WORKLOADS = ("fan-out", "chain", "layered", "process-each", "process-pool")
LAYER_WIDTH, LAYER_FANIN = peer_shapes.LAYER_WIDTH, peer_shapes.LAYER_FANIN
POOL_PROCESSES = 2


def units(workload: str, size: int) -> int:
    """How many units ``workload`` of ``size`` counts (see :mod:`peer_shapes`)."""
    if workload not in WORKLOADS:
        raise ValueError(f"tasktronaut has no workload {workload!r}")
    return peer_shapes.units(workload, size)


def _expect(root: Any, done: set[Any], expected: int, c: Counters) -> str | None:
    if not root.ready:
        return f"root not ready after the run ({len(done)}/{expected} assets ready)"
    if len(done) != expected or c.actions != expected:
        return f"{len(done)} assets ready and {c.actions} actions ran, expected {expected}"
    return None


def _asset_trial(workload: str, size: int, threads: int) -> Trial:
    expected = units(workload, size)

    def trial() -> Timed:
        done: set[Any] = set()
        c = Counters()
        if workload == "fan-out":
            join = _fanout_tasks(done, c)
            return lambda: _expect(join(size, threads=threads), done, expected, c)
        if workload == "chain":
            link = _chain_tasks(done, c)
            return lambda: _expect(link(size - 1, threads=threads), done, expected, c)
        root = _layered_tasks(done, c, size, LAYER_WIDTH, LAYER_FANIN)
        return lambda: _expect(root(threads=threads), done, expected - 1, c)

    return trial


def _process_trial(workload: str, size: int) -> Trial:
    settings: dict[str, Any] = {"tasks": size}
    if workload == "process-pool":
        settings.update(executor="process", processes=POOL_PROCESSES)

    def timed() -> str | None:
        root = NoOps.run(**settings)
        return None if root.ready else "the process did not end up ready"

    return lambda: timed


def make(workload: str, size: int, threads: int) -> Trial:
    """A trial: each call prepares fresh task functions (untimed) and returns the timed call."""
    quiet_logging()
    if workload in ("fan-out", "chain", "layered"):
        return _asset_trial(workload, size, threads)
    if workload in ("process-each", "process-pool"):
        return _process_trial(workload, size)
    raise ValueError(f"tasktronaut has no workload {workload!r}")
