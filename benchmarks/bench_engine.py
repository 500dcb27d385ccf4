"""Engine overhead benchmarks for asset tasks.

Every workload is made of no-op asset tasks: a task yields its name, an ``Asset`` whose
``ready()`` looks its key up in an in-memory set (``done``), its requirements, and an action
that adds the key to ``done``. What is measured is therefore the engine itself: building the
graph, checking readiness, scheduling and dispatching actions. The ``process`` workloads build
the same kind of graph with a ``ProcessDefinition`` (no-op steps) and compare its build cost
with the asset-task graph of the same shape.

Run ``python benchmarks/bench_engine.py`` (``make bench``); see ``benchmarks/README.md`` for
the options and how to read the table.

The module is importable: each workload is a function that takes its sizes and returns a
result dict (see :func:`measure`), :data:`WORKLOADS` maps the names accepted by ``--only`` to
the sweeps of the full and quick runs, and :func:`format_table` / :func:`write_json` /
:func:`environment` can be reused by other benchmark scripts.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import hashlib
import json
import math
import os
import platform
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

try:
    import tasktronaut
except ImportError:  # running from a checkout without an installed package
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import tasktronaut

from tasktronaut import Asset, Builder, NodeKind, ProcessDefinition, collection, task
from tasktronaut.model import traverse

HERE = Path(__file__).resolve().parent
DEFAULT_JSON = HERE / "results.json"

# Targets (printed next to the numbers; a result outside them is a MISS).
TARGET_US_PER_TASK = 5.0  # fan-out, at every size
TARGET_FLATNESS = 1.5  # fan-out: µs/task at the largest N / µs/task at the smallest N
TARGET_RERUN_US_PER_NODE = 2.0  # re-run of a graph that is already ready
TARGET_IO_EFFICIENCY = 0.95  # io-parallel: ideal wall / measured wall
TARGET_BYTES_PER_NODE = 2048  # peak traced memory per node ("< 2 KB/node")
# Building a process graph: µs per step above the µs per node of the equivalent asset graph.
TARGET_PROCESS_BUILD_OVER_ASSET_US = 3.0
# Process workloads take milliseconds and their check is a difference of two such timings,
# so they take the best of more repeats than repeats_for() gives.
PROCESS_REPEATS = 5

# A fan-out size whose predicted wall time (from the growth seen at the smaller sizes)
# exceeds this many seconds is skipped instead of run, so a super-linear engine cannot make
# the benchmark run for hours. Overridden by --max-seconds.
MAX_PREDICTED_SECONDS = 300.0


# --------------------------------------------------------------------------------------------
# Environment and logging


def quiet_logging() -> None:
    """Remove every loguru sink, so the engine's log calls print nothing.

    Peer engines were measured the same way: without an INFO sink. With a sink installed the
    numbers mostly measure log formatting and terminal output.
    """
    from loguru import logger

    logger.remove()


def environment() -> dict[str, Any]:
    """Facts about the machine and interpreter that the numbers depend on."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not available on every platform
        usable = os.cpu_count()
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        "tasktronaut": getattr(tasktronaut, "__version__", None) or _version_from_module(),
        "source_digest": source_digest(),
        "timestamp": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def source_digest() -> str:
    """A short hash of the package's source files, to tell which code a result came from."""
    h = hashlib.sha256()
    package = Path(tasktronaut.__file__).resolve().parent
    for path in sorted(package.rglob("*.py")):
        h.update(path.relative_to(package).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def _version_from_module() -> str | None:
    try:
        from tasktronaut._version import __version__
    except ImportError:
        return None
    return __version__


# --------------------------------------------------------------------------------------------
# Measuring


class Counters:
    """What the no-op tasks of one repeat did: task-function calls and actions run."""

    __slots__ = ("actions", "calls")

    def __init__(self) -> None:
        self.calls = 0
        self.actions = 0


# A "trial" is a zero-argument callable that prepares one repeat (untimed) and returns the
# timed part: a zero-argument callable that makes the root call and returns a check, i.e. an
# error message or None when the run did what it should.
Check = Callable[[], "str | None"]
Timed = Callable[[], Check]
Trial = Callable[[], Timed]


class GcTimer:
    """Time spent in the cyclic garbage collector while installed in ``gc.callbacks``.

    The collector stays enabled during the timed repeats (as in real use); this tells how much
    of a wall time it took, which explains growth that is not the engine's own doing.
    """

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = [0, 0, 0]
        self._start: float | None = None

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        elif self._start is not None:
            self.seconds += time.perf_counter() - self._start
            self.collections[info["generation"]] += 1
            self._start = None

    def __enter__(self) -> GcTimer:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)


def repeats_for(size: int) -> int:
    """Best of 3 for sizes up to 20k, best of 2 above."""
    return 3 if size <= 20_000 else 2


def measure(
    trial: Trial,
    *,
    nodes: int,
    repeats: int,
    memory: bool = True,
    counters: Callable[[], Counters] | None = None,
) -> dict[str, Any]:
    """Time ``repeats`` fresh repeats of ``trial`` and, separately, its peak memory.

    Returns ``wall_s`` (best repeat), ``walls_s`` (all repeats), ``us_per_node`` (best wall
    divided by ``nodes``), ``peak_bytes`` and ``bytes_per_node`` (from one more repeat run under
    tracemalloc, never timed), and ``error`` (the first failed check, or None).
    """
    walls: list[float] = []
    gcs: list[GcTimer] = []
    error: str | None = None
    for _ in range(repeats):
        timed = trial()
        gc.collect()
        with GcTimer() as gct:
            start = time.perf_counter()
            check = timed()
            wall = time.perf_counter() - start
        walls.append(wall)
        gcs.append(gct)
        error = error or check()
        del timed, check
    best = walls.index(min(walls))
    out: dict[str, Any] = {
        "nodes": nodes,
        "repeats": repeats,
        "wall_s": min(walls),
        "walls_s": walls,
        "us_per_node": min(walls) / nodes * 1e6,
        "gc_s": gcs[best].seconds,
        "gc_collections": gcs[best].collections,
        "peak_bytes": None,
        "bytes_per_node": None,
    }
    if counters is not None:
        c = counters()
        out["calls"] = c.calls
        out["actions"] = c.actions
    if memory:
        timed = trial()
        gc.collect()
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            check = timed()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        error = error or check()
        out["peak_bytes"] = peak
        out["bytes_per_node"] = peak / nodes
    out["error"] = error
    return out


def _expect(root: Any, done: set[Any], expected: int, counters: Counters, actions: int) -> Check:
    def check() -> str | None:
        if not root.ready:
            return f"root not ready after the run ({len(done)}/{expected} assets ready)"
        if len(done) != expected:
            return f"{len(done)} assets ready, expected {expected}"
        if counters.actions != actions:
            return f"{counters.actions} actions ran, expected {actions}"
        return None

    return check


def _result(name: str, label: str, params: dict[str, Any], m: dict[str, Any]) -> dict[str, Any]:
    return {"workload": name, "label": label, "params": params, **m, "checks": []}


def _add_check(
    result: dict[str, Any], metric: str, value: float | None, op: str, limit: float, unit: str
) -> None:
    if value is None or result.get("error"):
        passed = False
    elif op == "<=":
        passed = value <= limit
    elif op == "<":
        passed = value < limit
    elif op == ">=":
        passed = value >= limit
    else:
        raise ValueError(op)
    result["checks"].append(
        {"metric": metric, "value": value, "op": op, "limit": limit, "unit": unit, "pass": passed}
    )


def _memory_check(result: dict[str, Any]) -> None:
    _add_check(result, "B/node", result.get("bytes_per_node"), "<", TARGET_BYTES_PER_NODE, "B")


def _measured(
    name: str,
    label: str,
    params: dict[str, Any],
    nodes: int,
    trial: Any,
    counters: Any,
    *,
    repeats: int,
    memory: bool,
) -> dict[str, Any]:
    """Measure a workload; one that raises is reported (with an "error") and the others go on."""
    try:
        m = measure(trial, nodes=nodes, repeats=repeats, memory=memory, counters=counters)
    except Exception as e:  # report and carry on with the other workloads
        return _failed(name, label, params, nodes, e)
    return _result(name, label, params, m)


def _failed(name: str, label: str, params: dict[str, Any], nodes: int, e: BaseException):
    return _result(
        name,
        label,
        params,
        {
            "nodes": nodes,
            "repeats": 0,
            "wall_s": None,
            "walls_s": [],
            "us_per_node": None,
            "peak_bytes": None,
            "bytes_per_node": None,
            "error": f"{type(e).__name__}: {e}",
        },
    )


# --------------------------------------------------------------------------------------------
# Task factories: fresh task functions and a fresh `done` set for every repeat


def _fanout_tasks(done: set[Any], c: Counters, sleep: float = 0.0):
    @task
    def leaf(i: int):
        c.calls += 1
        yield f"leaf {i}"
        yield Asset(i, lambda: i in done)
        yield None
        if sleep:
            time.sleep(sleep)
        c.actions += 1
        done.add(i)

    @task
    def join(n: int):
        c.calls += 1
        yield "join"
        yield Asset("join", lambda: "join" in done)
        yield [leaf(i) for i in range(n)]
        c.actions += 1
        done.add("join")

    return join


def _plain_leaf(done: set[Any], c: Counters):
    """The body of a fan-out leaf as a plain generator function, without ``@task``."""

    def leaf(i: int):
        c.calls += 1
        yield f"leaf {i}"
        yield Asset(i, lambda: i in done)
        yield None
        c.actions += 1
        done.add(i)

    return leaf


def _chain_tasks(done: set[Any], c: Counters):
    @task
    def link(i: int):
        c.calls += 1
        yield f"link {i}"
        yield Asset(i, lambda: i in done)
        yield link(i - 1) if i > 0 else None
        c.actions += 1
        done.add(i)

    return link


def _layered_tasks(done: set[Any], c: Counters, layers: int, width: int, fanin: int):
    @task
    def cell(layer: int, j: int):
        c.calls += 1
        key = layer * width + j
        yield f"cell {layer}.{j}"
        yield Asset(key, lambda: key in done)
        if layer:
            yield [cell(layer - 1, (j + k) % width) for k in range(fanin)]
        else:
            yield None
        c.actions += 1
        done.add(key)

    @collection
    def layered_root():
        c.calls += 1
        yield "layered root"
        yield [cell(layers - 1, j) for j in range(width)]

    return layered_root


def _layer_join_tasks(done: set[Any], c: Counters, layers: int, width: int):
    """The asset-task equivalent of ``layers`` concurrent blocks of ``width`` steps in sequence.

    Cell (l, j) requires the collection of layer l-1, which requires every cell of layer l-1:
    each cell waits for the whole previous layer through one join node, which is how the
    builder compiles consecutive concurrent blocks. The collection of the last layer is the
    root. Nodes = layers * width cells + layers collections.
    """

    @task
    def cell(layer: int, j: int):
        c.calls += 1
        key = layer * width + j
        yield f"cell {layer}.{j}"
        yield Asset(key, lambda: key in done)
        yield layer_done(layer - 1) if layer else None
        c.actions += 1
        done.add(key)

    @collection
    def layer_done(layer: int):
        c.calls += 1
        yield f"layer {layer}"
        yield [cell(layer, j) for j in range(width)]

    return layer_done


def _process_definition(
    c: Counters, layers: int, width: int, style: str
) -> type[ProcessDefinition]:
    """A fresh ProcessDefinition: ``layers`` concurrent blocks of ``width`` no-op steps.

    ``style="each"``: what a user writes when every step works on its own item: ``each``
    yields the layers (sequential, the process's mode), and inside a ``concurrent`` block a
    second ``each`` yields the items; the step receives ``layer`` and ``i`` as kwargs, like
    the asset task ``cell(layer, j)`` receives its arguments. Steps are named
    ``Layers.work(layer=0, i=5)``.

    ``style="loop"``: plain Python loops around ``builder.concurrent()`` and
    ``b.task(self.work, description=...)``; the step takes no argument and is told apart by
    its description (``step 0-5``).
    """

    if style == "each":

        class Layers(ProcessDefinition):
            def layers(self) -> Iterator[dict[str, int]]:
                for layer in range(layers):
                    yield {"layer": layer}

            def items(self, layer: int) -> Iterator[dict[str, int]]:
                for i in range(width):
                    yield {"i": i}

            def define_process(self, builder: Builder) -> None:
                for lb in builder.each(self.layers):
                    with lb.concurrent() as block:
                        for b in block.each(self.items):
                            b.task(self.work)

            def work(self, layer: int, i: int) -> None:
                c.actions += 1

    elif style == "loop":

        class Layers(ProcessDefinition):  # type: ignore[no-redef]
            def define_process(self, builder: Builder) -> None:
                for layer in range(layers):
                    with builder.concurrent() as b:
                        for i in range(width):
                            b.task(self.work, description=f"step {layer}-{i}")

            def work(self) -> None:
                c.actions += 1

    else:
        raise ValueError(f"unknown process style {style!r}")
    return Layers


def _graph_problem(root: Any, nodes: int, steps: int, kind: NodeKind) -> str | None:
    """After a build: is the graph below ``root`` the expected shape, and nothing run?"""
    seen = list(traverse(root))
    n_kind = sum(1 for n in seen if n.kind is kind)
    if len(seen) != nodes or n_kind != steps:
        return f"built {len(seen)} nodes ({n_kind} {kind.value}), expected {nodes} ({steps})"
    return None


# --------------------------------------------------------------------------------------------
# Workloads: each takes its sizes and returns a result dict


def floor(n: int, *, repeats: int | None = None, memory: bool = True) -> dict[str, Any]:
    """The fan-out leaves driven by hand, without the engine: the cost of the tasks themselves.

    Each generator is advanced to its asset, its readiness read, advanced to its requirements,
    driven to the end (the action), and its readiness read again: what any engine must at
    least do. The garbage collector is off while it runs. Subtracting this from a
    workload's µs/node leaves the engine's own overhead, so numbers from different machines
    can be compared.
    """
    label, params = f"no-engine floor N={n:,}", {"n": n}
    last = Counters()

    def trial() -> Timed:
        nonlocal last
        done: set[Any] = set()
        c = last = Counters()
        leaf = _plain_leaf(done, c)

        def timed() -> Check:
            # Without the collector: it would traverse the suspended generators over and
            # over, and the floor is meant to be the least any engine has to pay.
            gc.disable()
            try:
                return drive()
            finally:
                gc.enable()

        def drive() -> Check:
            started = []
            for i in range(n):
                gen = leaf(i)
                next(gen)
                started.append((gen, next(gen)))
            for gen, a in started:
                a.ready()
                next(gen)
            for gen, a in started:
                for _ in gen:
                    pass
                a.ready()
            return lambda: None if len(done) == n == c.actions else "not every action ran"

        return timed

    return _measured(
        "floor",
        label,
        params,
        n,
        trial,
        lambda: last,
        repeats=repeats or repeats_for(n),
        memory=memory,
    )


def fanout(n: int, *, repeats: int | None = None, memory: bool = True) -> dict[str, Any]:
    """N leaf tasks plus one join task requiring them all; one thread."""
    nodes = n + 1
    label, params = f"fan-out N={n:,}", {"n": n}
    last = Counters()

    def trial() -> Timed:
        nonlocal last
        done: set[Any] = set()
        c = last = Counters()
        join = _fanout_tasks(done, c)

        def timed() -> Check:
            return _expect(join(n), done, nodes, c, nodes)

        return timed

    r = _measured(
        "fan-out",
        label,
        params,
        nodes,
        trial,
        lambda: last,
        repeats=repeats or repeats_for(n),
        memory=memory,
    )
    if "error" in r:
        return r
    _add_check(r, "µs/task", r["us_per_node"], "<=", TARGET_US_PER_TASK, "µs")
    _memory_check(r)
    return r


def chain(n: int, *, repeats: int | None = None, memory: bool = True) -> dict[str, Any]:
    """Task i requires task i-1; the root call is on the last task; one thread."""
    label, params = f"chain N={n:,}", {"n": n}
    last = Counters()

    def trial() -> Timed:
        nonlocal last
        done: set[Any] = set()
        c = last = Counters()
        link = _chain_tasks(done, c)

        def timed() -> Check:
            return _expect(link(n - 1), done, n, c, n)

        return timed

    r = _measured(
        "chain",
        label,
        params,
        n,
        trial,
        lambda: last,
        repeats=repeats or repeats_for(n),
        memory=memory,
    )
    if "error" in r:
        return r
    _memory_check(r)
    return r


def layered(
    layers: int = 20,
    width: int = 100,
    fanin: int = 3,
    *,
    repeats: int | None = None,
    memory: bool = True,
) -> dict[str, Any]:
    """``layers`` x ``width`` tasks, each requiring ``fanin`` tasks of the layer before.

    Task (l, j) requires (l-1, (j+k) mod width) for k < fanin; a collection requires the
    whole last layer and is the root. Nodes = layers * width + 1.
    """
    nodes = layers * width + 1
    label = f"layered {layers}x{width} (fan-in {fanin})"
    params = {"layers": layers, "width": width, "fanin": fanin}
    last = Counters()

    def trial() -> Timed:
        nonlocal last
        done: set[Any] = set()
        c = last = Counters()
        root = _layered_tasks(done, c, layers, width, fanin)

        def timed() -> Check:
            return _expect(root(), done, nodes - 1, c, nodes - 1)

        return timed

    r = _measured(
        "layered",
        label,
        params,
        nodes,
        trial,
        lambda: last,
        repeats=repeats or repeats_for(nodes),
        memory=memory,
    )
    if "error" in r:
        return r
    _memory_check(r)
    return r


def rerun(
    layers: int = 20,
    width: int = 100,
    fanin: int = 3,
    *,
    repeats: int | None = None,
    memory: bool = True,
) -> dict[str, Any]:
    """The layered graph called a second time on the same ``done`` set (all ready).

    Each repeat builds and runs the graph once (untimed), then times the second root call.
    ``us_per_node`` divides by every node of the graph; since a ready task's requirements are
    never expanded, the second call only visits the root and the last layer, so
    ``us_per_visited_node`` (wall / task-function calls of the second call) is reported too,
    as information: the re-run target is per graph node, so only ``us_per_node`` is checked.
    """
    nodes = layers * width + 1
    label = f"re-run layered {layers}x{width}"
    params = {"layers": layers, "width": width, "fanin": fanin}
    last = Counters()

    def trial() -> Timed:
        nonlocal last
        done: set[Any] = set()
        c = last = Counters()
        root = _layered_tasks(done, c, layers, width, fanin)
        if not root().ready:
            raise RuntimeError("first run of the layered graph did not make the root ready")
        c.calls = c.actions = 0

        def timed() -> Check:
            return _expect(root(), done, nodes - 1, c, 0)

        return timed

    r = _measured(
        "rerun",
        label,
        params,
        nodes,
        trial,
        lambda: last,
        repeats=repeats or repeats_for(nodes),
        memory=memory,
    )
    if "error" in r:
        return r
    visited = r.get("calls") or 0
    r["visited"] = visited
    r["us_per_visited_node"] = r["wall_s"] / visited * 1e6 if visited else None
    r["bytes_per_visited_node"] = (
        r["peak_bytes"] / visited if visited and r["peak_bytes"] is not None else None
    )
    _add_check(r, "µs/node (graph)", r["us_per_node"], "<=", TARGET_RERUN_US_PER_NODE, "µs")
    _memory_check(r)
    return r


def io_parallel(
    tasks: int = 64,
    sleep: float = 0.05,
    threads: int = 8,
    *,
    repeats: int | None = None,
    memory: bool = True,
) -> dict[str, Any]:
    """``tasks`` leaves sleeping ``sleep`` s each plus a join, on ``threads`` threads.

    Efficiency = ideal wall (tasks * sleep / threads) / measured wall.
    """
    nodes = tasks + 1
    ideal = tasks * sleep / threads
    label = f"io-parallel {tasks}x{sleep * 1000:g}ms, {threads} threads"
    params = {"tasks": tasks, "sleep_s": sleep, "threads": threads, "ideal_s": ideal}
    last = Counters()

    def trial() -> Timed:
        nonlocal last
        done: set[Any] = set()
        c = last = Counters()
        join = _fanout_tasks(done, c, sleep=sleep)

        def timed() -> Check:
            return _expect(join(tasks, threads=threads), done, nodes, c, nodes)

        return timed

    r = _measured(
        "io-parallel",
        label,
        params,
        nodes,
        trial,
        lambda: last,
        repeats=repeats or repeats_for(nodes),
        memory=memory,
    )
    if "error" in r:
        return r
    r["efficiency"] = ideal / r["wall_s"]
    _add_check(r, "efficiency", r["efficiency"], ">=", TARGET_IO_EFFICIENCY, "%")
    return r


# --------------------------------------------------------------------------------------------
# Process graphs, and the asset-task graph of the same shape


_PHASES = ("build", "run", "build+run")


def _graph_phase(
    workload: str,
    label: str,
    params: dict[str, Any],
    *,
    nodes: int,
    units: int,
    kind: NodeKind,
    make: Callable[[set[Any], Counters], Callable[[], Any]],
    phase: str,
    repeats: int,
    memory: bool,
) -> dict[str, Any]:
    """Time one phase of a graph that ``make(done, counters)()`` builds (and never runs).

    ``phase`` is ``build`` (the build alone; nothing may run), ``run`` (built untimed, then
    ``root.run()`` timed) or ``build+run`` (both, timed together). ``units`` is the number of
    steps or tasks (nodes of ``kind``); ``us_per_unit`` is the best wall divided by it.
    """
    if phase not in _PHASES:
        raise ValueError(f"unknown phase {phase!r}")
    last = Counters()

    def ran(root: Any, done: set[Any], c: Counters) -> Check:
        def check() -> str | None:
            if not root.ready:
                return f"root not ready after the run ({c.actions}/{units} actions ran)"
            if c.actions != units:
                return f"{c.actions} actions ran, expected {units}"
            if kind is NodeKind.TASK and len(done) != units:
                return f"{len(done)} assets ready, expected {units}"
            return None

        return check

    def built(root: Any, done: set[Any], c: Counters) -> Check:
        def check() -> str | None:
            # A build leaves its graph in the collector's permanent generation for the run
            # that would follow; this one never runs, so hand it back to be collected.
            gc.unfreeze()
            if c.actions or done:
                return f"{c.actions} actions ran during the build"
            return _graph_problem(root, nodes, units, kind)

        return check

    def trial() -> Timed:
        nonlocal last
        done: set[Any] = set()
        c = last = Counters()
        build = make(done, c)
        if phase == "run":
            # Do not read root.ready here: on a collection it would be cached as False
            # before the run and the run would report the root not ready.
            root = build()

            def timed() -> Check:
                return ran(root.run(), done, c)

        elif phase == "build":

            def timed() -> Check:
                return built(build(), done, c)

        else:

            def timed() -> Check:
                return ran(build().run(), done, c)

        return timed

    r = _measured(
        workload, label, params, nodes, trial, lambda: last, repeats=repeats, memory=memory
    )
    r["phase"] = phase
    r["units"] = units
    r["unit"] = "step" if kind is NodeKind.STEP else "task"
    r["us_per_unit"] = r["wall_s"] / units * 1e6 if r.get("wall_s") else None
    return r


def layer_join(
    phase: str = "build",
    layers: int = 20,
    width: int = 100,
    *,
    repeats: int | None = None,
    memory: bool = True,
) -> dict[str, Any]:
    """The asset-task graph equivalent to the process graph (see :func:`_layer_join_tasks`).

    Nodes = layers * width tasks + layers collections.
    """
    nodes = layers * width + layers
    label = f"asset {phase} {layers}x{width} (layer collections)"
    params = {"layers": layers, "width": width, "phase": phase, "graph": "asset"}

    def make(done: set[Any], c: Counters) -> Callable[[], Any]:
        root = _layer_join_tasks(done, c, layers, width)
        return lambda: root.build(layers - 1)

    return _graph_phase(
        "process",
        label,
        params,
        nodes=nodes,
        units=layers * width,
        kind=NodeKind.TASK,
        make=make,
        phase=phase,
        repeats=repeats or PROCESS_REPEATS,
        memory=memory,
    )


def process_graph(
    phase: str = "build",
    style: str = "each",
    layers: int = 20,
    width: int = 100,
    *,
    repeats: int | None = None,
    memory: bool = True,
) -> dict[str, Any]:
    """A process of ``layers`` concurrent blocks of ``width`` no-op steps, in sequence.

    ``style`` is how ``define_process`` is written (see :func:`_process_definition`). The
    builder compiles it to the steps, one join per block and the process node:
    nodes = layers * width + layers + 1. ``build`` times ``Definition.build()``, ``run``
    ``root.run()`` of a graph built beforehand, ``build+run`` both (``Definition.run()``).
    """
    nodes = layers * width + layers + 1
    label = f"process {phase} {layers}x{width} ({style})"
    params = {"layers": layers, "width": width, "phase": phase, "style": style, "graph": "process"}

    def make(done: set[Any], c: Counters) -> Callable[[], Any]:
        return _process_definition(c, layers, width, style).build

    return _graph_phase(
        "process",
        label,
        params,
        nodes=nodes,
        units=layers * width,
        kind=NodeKind.STEP,
        make=make,
        phase=phase,
        repeats=repeats or PROCESS_REPEATS,
        memory=memory,
    )


def process_suite(layers: int = 20, width: int = 100) -> list[dict[str, Any]]:
    """The asset graph (build, run) and the process graph (builds, run, build+run).

    Each process build is checked against the asset build: µs per step of the process minus
    µs per node of the asset graph must stay within ``TARGET_PROCESS_BUILD_OVER_ASSET_US``.
    """
    results: list[dict[str, Any]] = []

    def add(r: dict[str, Any]) -> dict[str, Any]:
        results.append(r)
        _progress(r)
        return r

    asset_build = add(layer_join("build", layers, width))
    asset_run = add(layer_join("run", layers, width))
    base = None if asset_build.get("error") else asset_build["us_per_node"]
    for style in ("each", "loop"):
        r = add(process_graph("build", style, layers, width))
        r["asset_us_per_node"] = base
        over = (
            r["us_per_unit"] - base
            if base is not None and r.get("us_per_unit") is not None
            else None
        )
        r["us_over_asset"] = over
        _add_check(
            r, "µs/step over asset build", over, "<=", TARGET_PROCESS_BUILD_OVER_ASSET_US, "µs"
        )
    r = add(process_graph("run", "each", layers, width))
    r["asset_us_per_unit"] = asset_run.get("us_per_unit")
    r = add(process_graph("build+run", "each", layers, width))
    _memory_check(r)
    return results


# --------------------------------------------------------------------------------------------
# Suites


def _fanout_sweep(sizes: Sequence[int]) -> Callable[..., list[dict[str, Any]]]:
    def sweep(max_seconds: float = MAX_PREDICTED_SECONDS, **_: Any) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        for n in sizes:
            predicted = _predict(results, n)
            if predicted is not None and predicted > max_seconds:
                r = _failed(
                    "fan-out",
                    f"fan-out N={n:,}",
                    {"n": n},
                    n + 1,
                    RuntimeError(
                        f"skipped: predicted {predicted:.0f} s per repeat "
                        f"(> {max_seconds:g} s) from the growth so far"
                    ),
                )
                r["skipped"] = True
            else:
                r = fanout(n)
            results.append(r)
            _progress(r)
        results.append(_flatness(results))
        return results

    return sweep


def _predict(previous: list[dict[str, Any]], n: int) -> float | None:
    """Extrapolate the wall time at ``n`` from the last two good fan-out results."""
    good = [r for r in previous if r.get("wall_s") and not r.get("error")]
    if len(good) < 2:
        return None
    a, b = good[-2], good[-1]
    na, nb = a["params"]["n"], b["params"]["n"]
    exponent = max(1.0, math.log(b["wall_s"] / a["wall_s"]) / math.log(nb / na))
    return b["wall_s"] * (n / nb) ** exponent


def _flatness(results: list[dict[str, Any]]) -> dict[str, Any]:
    good = [r for r in results if r.get("us_per_node") and not r.get("error")]
    r: dict[str, Any] = {
        "workload": "fan-out",
        "label": "fan-out flatness",
        "summary": True,
        "params": {},
        "checks": [],
        "error": None,
    }
    if len(good) < 2 or len(good) < len(results):
        r["error"] = "needs every fan-out size measured"
        ratio = None
    else:
        small, large = good[0], good[-1]
        ratio = large["us_per_node"] / small["us_per_node"]
        r["params"] = {"smallest": small["params"]["n"], "largest": large["params"]["n"]}
    r["ratio"] = ratio
    _add_check(r, "µs/task largest/smallest", ratio, "<=", TARGET_FLATNESS, "x")
    return r


def _single(fn: Callable[[], dict[str, Any]]) -> Callable[..., list[dict[str, Any]]]:
    def sweep(**_: Any) -> list[dict[str, Any]]:
        r = fn()
        _progress(r)
        return [r]

    return sweep


Sweep = Callable[..., list[dict[str, Any]]]

# name -> (full run, quick run); each returns a list of result dicts.
WORKLOADS: dict[str, tuple[Sweep, Sweep]] = {
    "floor": (_single(lambda: floor(20_000)), _single(lambda: floor(20_000))),
    "fan-out": (_fanout_sweep([1_000, 20_000, 100_000]), _fanout_sweep([1_000, 20_000])),
    "chain": (_single(lambda: chain(10_000)), _single(lambda: chain(2_000))),
    "layered": (_single(lambda: layered(20, 100, 3)), _single(lambda: layered(20, 100, 3))),
    "rerun": (_single(lambda: rerun(20, 100, 3)), _single(lambda: rerun(20, 100, 3))),
    "io-parallel": (
        _single(lambda: io_parallel(64, 0.05, 8)),
        _single(lambda: io_parallel(64, 0.05, 8)),
    ),
    "process": (lambda **_: process_suite(20, 100), lambda **_: process_suite(20, 100)),
}


def run_suite(
    only: Sequence[str] | None = None,
    *,
    quick: bool = False,
    max_seconds: float = MAX_PREDICTED_SECONDS,
) -> list[dict[str, Any]]:
    """Run the selected workloads (all by default) and return their result dicts."""
    quiet_logging()
    results: list[dict[str, Any]] = []
    for name, (full, small) in WORKLOADS.items():
        if only and name not in only:
            continue
        results.extend((small if quick else full)(max_seconds=max_seconds))
    _above_floor(results)
    return results


def _above_floor(results: list[dict[str, Any]]) -> None:
    """Add ``us_above_floor`` (µs/node minus the no-engine floor) to the engine results."""
    floors = [
        r
        for r in results
        if r["workload"] == "floor" and r.get("us_per_node") and not r.get("error")
    ]
    if not floors:
        return
    base = floors[0]["us_per_node"]
    for r in results:
        if r["workload"] in ("fan-out", "chain", "layered") and r.get("us_per_node"):
            r["us_above_floor"] = r["us_per_node"] - base


# --------------------------------------------------------------------------------------------
# Output


_VERBOSE = False


def _progress(r: dict[str, Any]) -> None:
    if _VERBOSE and not r.get("summary"):
        wall = f"{r['wall_s']:.4f} s" if r.get("wall_s") is not None else "-"
        print(f"  done: {r['label']}: {wall}", file=sys.stderr, flush=True)


def _fmt(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def _fmt_check(c: dict[str, Any]) -> tuple[str, str]:
    value, limit, unit = c["value"], c["limit"], c["unit"]
    if unit == "%":
        shown = "-" if value is None else f"{value * 100:.1f} %"
        return shown, f"{c['op']} {limit * 100:g} %"
    if unit == "x":
        return ("-" if value is None else f"{value:.2f}x"), f"{c['op']} {limit:g}x"
    if unit == "B":
        return ("-" if value is None else f"{value:,.0f} B"), f"{c['op']} {limit:,.0f} B"
    return ("-" if value is None else f"{value:.2f} {unit}"), f"{c['op']} {limit:g} {unit}"


def format_table(results: list[dict[str, Any]], env: dict[str, Any] | None = None) -> str:
    """The results as a plain-text table, one block of rows per workload."""
    lines: list[str] = []
    if env:
        lines.append(
            f"Python {env['python']} ({env['implementation']}) on {env['platform']}; "
            f"{env['cpu_count']} cores ({env['cpus_usable']} usable); "
            f"tasktronaut {env['tasktronaut']} (source {env['source_digest']})"
        )
        lines.append(
            "One thread unless stated; no log sink; best wall of the repeats; "
            "memory from a separate repeat under tracemalloc."
        )
        lines.append("")
    head = (
        f"{'workload':<38} {'nodes':>8} {'rep':>3} {'wall s':>9} {'µs/node':>8} "
        f"{'B/node':>7} | {'check':<25} {'measured':>10} {'target':>10} {'result':>6}"
    )
    lines += [head, "-" * len(head)]
    blank = " " * (38 + 1 + 8 + 1 + 3 + 1 + 9 + 1 + 8 + 1 + 7)
    for r in results:
        if r.get("summary"):
            left = f"{r['label']:<38}" + " " * (len(blank) - 38)
        else:
            left = (
                f"{r['label']:<38} {r['nodes']:>8,} {r['repeats']:>3} "
                f"{_fmt(r['wall_s'], 4):>9} {_fmt(r['us_per_node']):>8} "
                f"{_fmt(r['bytes_per_node'], 0):>7}"
            )
        rows = []
        for c in r["checks"]:
            shown, target = _fmt_check(c)
            rows.append(
                f"{c['metric']:<25} {shown:>10} {target:>10} {'PASS' if c['pass'] else 'MISS':>6}"
            )
        extra = _extra(r)
        if not rows:
            rows = [f"{'(no target)':<25}"]
        for i, row in enumerate(rows):
            lines.append(f"{left if i == 0 else blank} | {row}")
        for note in extra:
            lines.append(f"{blank} |   {note}")
        if r.get("error"):
            lines.append(f"{blank} |   ERROR: {r['error']}")
    checks = [c for r in results for c in r["checks"]]
    passed = sum(c["pass"] for c in checks)
    lines.append("-" * len(head))
    lines.append(f"{passed}/{len(checks)} checks passed")
    return "\n".join(lines)


def _extra(r: dict[str, Any]) -> list[str]:
    notes = []
    if r.get("workload") == "rerun" and r.get("visited"):
        notes.append(
            f"visited {r['visited']:,} of {r['nodes']:,} nodes; "
            f"{r['us_per_visited_node']:.2f} µs and "
            f"{r['bytes_per_visited_node'] or 0:,.0f} B per visited node "
            "(information, not a target)"
        )
    if r.get("workload") == "process" and r.get("us_per_unit") is not None:
        notes.append(_process_note(r))
    if r.get("workload") == "io-parallel" and r.get("wall_s"):
        notes.append(f"ideal {r['params']['ideal_s']:.3f} s, measured {r['wall_s']:.3f} s")
    if r.get("us_above_floor") is not None:
        notes.append(f"{r['us_above_floor']:.2f} µs/node above the no-engine floor")
    if r.get("gc_s") and r.get("wall_s") and r["gc_s"] >= 0.1 * r["wall_s"]:
        g = r["gc_collections"]
        notes.append(
            f"garbage collector: {r['gc_s']:.4f} s of the best wall "
            f"({r['gc_s'] / r['wall_s'] * 100:.0f} %; collections by generation "
            f"{g[0]}/{g[1]}/{g[2]})"
        )
    if len(r.get("walls_s") or ()) > 1:
        notes.append("repeats: " + ", ".join(f"{w:.4f}" for w in r["walls_s"]) + " s")
    return notes


def _process_note(r: dict[str, Any]) -> str:
    note = f"{r['us_per_unit']:.2f} µs/{r['unit']} ({r['units']:,} {r['unit']}s)"
    if r.get("us_over_asset") is not None:
        note += (
            f"; asset build {r['asset_us_per_node']:.2f} µs/node; "
            f"difference {r['us_over_asset']:+.2f} µs/step"
        )
    elif r.get("asset_us_per_unit") is not None:
        note += (
            f"; asset run {r['asset_us_per_unit']:.2f} µs/task "
            f"({r['us_per_unit'] / r['asset_us_per_unit']:.1f}x)"
        )
    return note


def write_json(path: Path, results: list[dict[str, Any]], env: dict[str, Any], **meta: Any) -> None:
    """Write the environment, run settings and results to ``path`` as JSON."""
    checks = [c for r in results for c in r["checks"]]
    doc = {
        "environment": env,
        "settings": meta,
        "targets": {
            "fanout_us_per_task": TARGET_US_PER_TASK,
            "fanout_flatness": TARGET_FLATNESS,
            "rerun_us_per_node": TARGET_RERUN_US_PER_NODE,
            "io_efficiency": TARGET_IO_EFFICIENCY,
            "bytes_per_node": TARGET_BYTES_PER_NODE,
            "process_build_over_asset_us_per_step": TARGET_PROCESS_BUILD_OVER_ASSET_US,
        },
        "results": results,
        "passed": sum(c["pass"] for c in checks),
        "checks": len(checks),
        "all_pass": all(c["pass"] for c in checks),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------------------------
# Command line


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--quick",
        action="store_true",
        help="smaller sizes for a smoke run (fan-out up to 20k, chain 2k)",
    )
    p.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help=f"run only this workload (repeatable or comma-separated): {', '.join(WORKLOADS)}",
    )
    p.add_argument(
        "--json",
        type=Path,
        default=DEFAULT_JSON,
        metavar="PATH",
        help=f"where to write the JSON results (default: {DEFAULT_JSON})",
    )
    p.add_argument(
        "--max-seconds",
        type=float,
        default=MAX_PREDICTED_SECONDS,
        help="skip a fan-out size whose predicted wall time per repeat exceeds "
        "this (default: %(default)g)",
    )
    p.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="print progress to stderr as each workload finishes",
    )
    args = p.parse_args(argv)
    if args.only:
        names = [n.strip() for item in args.only for n in item.split(",") if n.strip()]
        unknown = [n for n in names if n not in WORKLOADS]
        if unknown:
            p.error(
                f"unknown workload(s): {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}"
            )
        args.only = names
    return args


def main(argv: Sequence[str] | None = None) -> int:
    global _VERBOSE
    quiet_logging()
    args = parse_args(argv)
    _VERBOSE = args.verbose
    env = environment()
    results = run_suite(args.only, quick=args.quick, max_seconds=args.max_seconds)
    print(format_table(results, env))
    write_json(
        args.json, results, env, quick=args.quick, only=args.only, threads_default=1, log_sink=None
    )
    print(f"\nJSON results written to {args.json}")
    # A MISS is a finding, not a failure of the benchmark; an engine error is.
    return 1 if any(r.get("error") and not r.get("summary") for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
