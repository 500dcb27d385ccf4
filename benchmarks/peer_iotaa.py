"""The no-op task graphs of ``bench_engine.py``, written for iotaa (1.8.1).

Same shapes, same task bodies: a task yields its name, an ``Asset`` whose ``ready()`` looks its
key up in an in-memory set (``done``), its requirements, and an action that adds the key to
``done``. iotaa builds and runs a graph in one call of the root task, as tasktronaut's root
call does, so the timed part is that call. ``threads`` goes to iotaa as
``iotaa={"threads": threads}``; iotaa runs every action on its worker threads, even with one.

iotaa logs through the stdlib ``logging`` module; nothing configures a handler here, so its
INFO records are dropped, as tasktronaut's are in the benchmarks (no log sink).

Used by ``peer_run.py``; see ``benchmarks/README.md``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import peer_shapes
from iotaa import Asset, collection, task

# iotaa expands requirements and builds its graph recursively: a chain of 10,000 tasks needs
# a deeper stack than Python's default limit allows.
sys.setrecursionlimit(max(sys.getrecursionlimit(), 200_000))

Check = Callable[[], "str | None"]
Timed = Callable[[], "str | None"]
Trial = Callable[[], Timed]

WORKLOADS = ("fan-out", "chain", "layered")
LAYER_WIDTH, LAYER_FANIN = peer_shapes.LAYER_WIDTH, peer_shapes.LAYER_FANIN


def units(workload: str, size: int) -> int:
    """How many units ``workload`` of ``size`` counts (see :mod:`peer_shapes`)."""
    if workload not in WORKLOADS:
        raise ValueError(f"iotaa has no workload {workload!r}")
    return peer_shapes.units(workload, size)


def _expect(root: Any, done: set[Any], expected: int) -> str | None:
    if not root.ready:
        return f"root not ready after the run ({len(done)}/{expected} assets ready)"
    if len(done) != expected:
        return f"{len(done)} assets ready, expected {expected}"
    return None


def _fanout(n: int, threads: int) -> Timed:
    done: set[Any] = set()

    @task
    def leaf(i: int):
        yield f"leaf {i}"
        yield Asset(i, lambda: i in done)
        yield None
        done.add(i)

    @task
    def join(n: int):
        yield "join"
        yield Asset("join", lambda: "join" in done)
        yield [leaf(i) for i in range(n)]
        done.add("join")

    return lambda: _expect(join(n, iotaa={"threads": threads}), done, n + 1)


def _chain(n: int, threads: int) -> Timed:
    done: set[Any] = set()

    @task
    def link(i: int):
        yield f"link {i}"
        yield Asset(i, lambda: i in done)
        yield link(i - 1) if i > 0 else None
        done.add(i)

    return lambda: _expect(link(n - 1, iotaa={"threads": threads}), done, n)


def _layered(layers: int, threads: int) -> Timed:
    done: set[Any] = set()
    width, fanin = LAYER_WIDTH, LAYER_FANIN

    @task
    def cell(layer: int, j: int):
        key = layer * width + j
        yield f"cell {layer}.{j}"
        yield Asset(key, lambda: key in done)
        if layer:
            yield [cell(layer - 1, (j + k) % width) for k in range(fanin)]
        else:
            yield None
        done.add(key)

    @collection
    def layered_root():
        yield "layered root"
        yield [cell(layers - 1, j) for j in range(width)]

    return lambda: _expect(layered_root(iotaa={"threads": threads}), done, layers * width)


def make(workload: str, size: int, threads: int) -> Trial:
    """A trial: each call prepares fresh task functions (untimed) and returns the timed call."""
    shapes = {"fan-out": _fanout, "chain": _chain, "layered": _layered}
    if workload not in shapes:
        raise ValueError(f"iotaa has no workload {workload!r}")
    shape = shapes[workload]
    return lambda: shape(size, threads)
