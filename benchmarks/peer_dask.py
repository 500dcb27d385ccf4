"""The no-op graphs of ``bench_engine.py`` as Dask task graphs, for the two-thread comparison.

Dask has no readiness protocol, so each node is a function that does what the no-op action
of the asset tasks does: it adds its key to an in-memory set (``done``) unless it is there.
The graph is a plain dict of string keys, as ``dask.delayed`` would produce; a node's own key
is passed to its function as an int (Dask reads an argument that equals a key as a
dependency). The timed
part is building that dict and running it, as the root call builds and runs the graph in the
other engines. Two schedulers:

* ``threaded``: ``dask.threaded.get(graph, root, num_workers=threads)``;
* ``sync``: ``dask.local.get_sync(graph, root)``, everything in the calling thread.

Used by ``peer_run.py``; see ``benchmarks/README.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import peer_shapes

Timed = Callable[[], "str | None"]
Trial = Callable[[], Timed]
Graph = dict[str, Any]

WORKLOADS = ("fan-out", "chain", "layered")
LAYER_WIDTH, LAYER_FANIN = peer_shapes.LAYER_WIDTH, peer_shapes.LAYER_FANIN


def units(workload: str, size: int) -> int:
    """How many units ``workload`` of ``size`` counts (see :mod:`peer_shapes`)."""
    if workload not in WORKLOADS:
        raise ValueError(f"Dask has no workload {workload!r}")
    return peer_shapes.units(workload, size)


def _noop(done: set[Any]) -> Callable[..., None]:
    def action(key: Any, *requirements: Any) -> None:
        if key not in done:
            done.add(key)

    return action


def _fanout(n: int, done: set[Any]) -> tuple[Graph, str]:
    act = _noop(done)
    graph: Graph = {f"leaf-{i}": (act, i) for i in range(n)}
    graph["join"] = (act, -1, [f"leaf-{i}" for i in range(n)])
    return graph, "join"


def _chain(n: int, done: set[Any]) -> tuple[Graph, str]:
    act = _noop(done)
    graph: Graph = {"link-0": (act, 0)}
    for i in range(1, n):
        graph[f"link-{i}"] = (act, i, f"link-{i - 1}")
    return graph, f"link-{n - 1}"


def _layered(layers: int, done: set[Any]) -> tuple[Graph, str]:
    act = _noop(done)
    width, fanin = LAYER_WIDTH, LAYER_FANIN
    graph: Graph = {f"cell-0-{j}": (act, j) for j in range(width)}
    for layer in range(1, layers):
        for j in range(width):
            reqs = [f"cell-{layer - 1}-{(j + k) % width}" for k in range(fanin)]
            graph[f"cell-{layer}-{j}"] = (act, layer * width + j, reqs)
    graph["root"] = (act, -1, [f"cell-{layers - 1}-{j}" for j in range(width)])
    return graph, "root"


def make(workload: str, size: int, threads: int, scheduler: str) -> Trial:
    """A trial: each call makes a fresh ``done`` set and returns the timed build and run."""
    shapes = {"fan-out": _fanout, "chain": _chain, "layered": _layered}
    if workload not in shapes:
        raise ValueError(f"Dask has no workload {workload!r}")
    shape = shapes[workload]
    expected = units(workload, size)
    if scheduler == "threaded":
        from dask.threaded import get

        def run(graph: Graph, root: str) -> Any:
            return get(graph, root, num_workers=threads)

    elif scheduler == "sync":
        from dask.local import get_sync as run
    else:
        raise ValueError(f"unknown Dask scheduler {scheduler!r}")

    def trial() -> Timed:
        done: set[Any] = set()

        def timed() -> str | None:
            graph, root = shape(size, done)
            run(graph, root)
            return None if len(done) == expected else f"{len(done)} of {expected} nodes ran"

        return timed

    return trial
