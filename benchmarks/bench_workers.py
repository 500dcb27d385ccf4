"""Worker benchmarks: what threads, worker processes and Dask buy, and what they cost.

Four measurements, each against a target:

* ``cpu-parallel``: 4 process steps of about 0.5 s of pure-Python CPU work each, run on one
  thread (one after the other) and on 2 worker processes. Speed-up = serial / parallel wall.
* ``io-parallel``: 64 asset tasks that sleep 50 ms, on 8 threads. Efficiency = ideal wall
  (64 x 0.05 s / 8 = 0.4 s) / measured wall.
* ``overhead``: 200 no-op process steps in one concurrent block, on the calling thread (the
  reference), on 2 worker processes and on a Dask LocalCluster of 2 worker processes. The
  wall time per step is what a task pays for the trip to a worker and back.

Run ``python benchmarks/bench_workers.py`` (see ``benchmarks/README.md``). Everything the
workers run is defined at module level and used through the module's importable name
(``bench_workers``), so worker processes and Dask workers can import it.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # running from a checkout without an installed package
    sys.path.insert(1, str(HERE.parent))

from bench_engine import environment, quiet_logging  # noqa: E402

from tasktronaut import Asset, Builder, ExecutionMode, ProcessDefinition, collection, task  # noqa: E402

TARGET_CPU_SPEEDUP = 1.8  # 4 CPU-bound steps on 2 processes vs 1 thread
TARGET_IO_EFFICIENCY = 0.90  # 64 sleeps of 50 ms on 8 threads
TARGET_PROCESS_MS = 2.0  # per no-op step, 2 worker processes (pool start included)
TARGET_DASK_MS = 20.0  # per no-op step, Dask LocalCluster of 2 workers (cluster start excluded)

CPU_TASKS, CPU_SECONDS, CPU_PROCESSES = 4, 0.5, 2
IO_TASKS, IO_SLEEP, IO_THREADS = 64, 0.05, 8
NOOP_TASKS = 200


# --------------------------------------------------------------------------------------------
# What the workers run


def spin(loops: int) -> int:
    """Pure-Python CPU work: no I/O, no sleeping, holds the GIL all along."""
    x = 0
    for i in range(loops):
        x = (x + i * i) % 1_000_003
    return x


def loops_for(seconds: float) -> int:
    """How many ``spin`` loops take about ``seconds`` on this machine (best of 3 probes)."""
    probe = 200_000
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        spin(probe)
        best = min(best, time.perf_counter() - start)
    return int(probe * seconds / best)


class CpuWork(ProcessDefinition):
    """``tasks`` CPU-bound steps in one concurrent block."""

    process_execution_mode = ExecutionMode.CONCURRENT

    def define_process(self, builder: Builder) -> None:
        builder.expected_arguments(tasks=int, loops=int)
        for item in builder.each(self.items):
            item.task(self.work)

    def items(self, tasks: int, **_: Any):
        for i in range(tasks):
            yield {"i": i}

    def work(self, i: int, loops: int) -> int:
        return spin(loops)


class NoOps(ProcessDefinition):
    """``tasks`` steps that do nothing, in one concurrent block."""

    process_execution_mode = ExecutionMode.CONCURRENT

    def define_process(self, builder: Builder) -> None:
        builder.expected_arguments(tasks=int)
        for item in builder.each(self.items):
            item.task(self.nothing)

    def items(self, tasks: int):
        for i in range(tasks):
            yield {"i": i}

    def nothing(self, i: int) -> int:
        return i


@task
def nap(path: Path, seconds: float):
    """Sleep, then leave a file (the asset)."""
    yield f"nap {path.name}"
    yield Asset(path, path.is_file)
    yield None
    time.sleep(seconds)
    path.touch()


@collection
def naps(folder: Path, tasks: int, seconds: float):
    yield "naps"
    yield [nap(folder / f"{i}", seconds) for i in range(tasks)]


# --------------------------------------------------------------------------------------------
# Measuring


def best_of(repeats: int, trial: Callable[[], Any]) -> tuple[float, list[float]]:
    """Run ``trial`` ``repeats`` times; it must return a root node that ended up ready."""
    walls = []
    for _ in range(repeats):
        start = time.perf_counter()
        root = trial()
        walls.append(time.perf_counter() - start)
        if not root.ready:
            raise RuntimeError(f"{root.taskname} did not end up ready")
    return min(walls), walls


def row(name: str, label: str, tasks: int, wall: float, walls: list[float], metric: str,
        value: float, op: str, target: float, unit: str, notes: list[str]) -> dict[str, Any]:
    passed = value >= target if op == ">=" else value <= target
    return {"workload": name, "label": label, "tasks": tasks, "wall_s": wall, "walls_s": walls,
            "metric": metric, "value": value, "op": op, "target": target, "unit": unit,
            "pass": passed, "notes": notes}


def cpu_parallel(repeats: int) -> list[dict[str, Any]]:
    """Serial, parallel and a plain ``multiprocessing.Pool`` in turn, ``repeats`` times.

    Taking turns exposes the three to the same conditions when the machine's speed drifts
    (shared or virtual machines). The pool shows what this machine allows at best.
    """
    loops = loops_for(CPU_SECONDS)
    kwargs = {"tasks": CPU_TASKS, "loops": loops}
    serial_walls: list[float] = []
    parallel_walls: list[float] = []
    pool_walls: list[float] = []
    with multiprocessing.Pool(CPU_PROCESSES) as pool:
        for _ in range(repeats):
            serial_walls += best_of(1, lambda: CpuWork.run(**kwargs))[1]
            parallel_walls += best_of(1, lambda: CpuWork.run(
                **kwargs, executor="process", processes=CPU_PROCESSES))[1]
            start = time.perf_counter()
            pool.map(spin, [loops] * CPU_TASKS, chunksize=1)
            pool_walls.append(time.perf_counter() - start)
    serial, parallel = min(serial_walls), min(parallel_walls)
    notes = [f"serial (1 thread): best {serial:.3f} s of " + _walls(serial_walls),
             f"multiprocessing.Pool({CPU_PROCESSES}) on the same work: best "
             f"{min(pool_walls):.3f} s, speed-up {serial / min(pool_walls):.2f}x "
             "(what this machine allows)",
             f"{loops:,} loops per step (~{CPU_SECONDS} s each, calibrated here)"]
    return [row("cpu-parallel", f"cpu-parallel {CPU_TASKS} x {CPU_SECONDS} s, "
                f"{CPU_PROCESSES} processes", CPU_TASKS, parallel, parallel_walls,
                "speed-up", serial / parallel, ">=", TARGET_CPU_SPEEDUP, "x", notes)]


def io_parallel(repeats: int) -> list[dict[str, Any]]:
    def trial() -> Any:
        with tempfile.TemporaryDirectory() as folder:
            return naps(Path(folder), IO_TASKS, IO_SLEEP, threads=IO_THREADS)

    wall, walls = best_of(repeats, trial)
    ideal = IO_TASKS * IO_SLEEP / IO_THREADS
    return [row("io-parallel", f"io-parallel {IO_TASKS} x {IO_SLEEP * 1000:g} ms, "
                f"{IO_THREADS} threads", IO_TASKS, wall, walls, "efficiency", ideal / wall,
                ">=", TARGET_IO_EFFICIENCY, "%", [f"ideal wall {ideal:.3f} s"])]


def overhead(repeats: int, dask: bool) -> list[dict[str, Any]]:
    kwargs = {"tasks": NOOP_TASKS}
    thread, thread_walls = best_of(repeats, lambda: NoOps.run(**kwargs))
    process, process_walls = best_of(repeats, lambda: NoOps.run(
        **kwargs, executor="process", processes=2))
    reference = thread / NOOP_TASKS * 1000
    rows = [
        row("overhead", f"overhead {NOOP_TASKS} no-op steps, thread", NOOP_TASKS, thread,
            thread_walls, "ms/step", reference, "<=", float("inf"), "ms", ["reference"]),
        row("overhead", f"overhead {NOOP_TASKS} no-op steps, 2 processes", NOOP_TASKS,
            process, process_walls, "ms/step", process / NOOP_TASKS * 1000, "<=",
            TARGET_PROCESS_MS, "ms", ["includes starting the 2 worker processes"]),
    ]
    if dask:
        rows.append(dask_overhead(repeats, kwargs, reference))
    return rows


def dask_overhead(repeats: int, kwargs: dict[str, Any], reference: float) -> dict[str, Any]:
    label = f"overhead {NOOP_TASKS} no-op steps, Dask (2 workers)"
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        return {"workload": "overhead", "label": label, "tasks": NOOP_TASKS, "skipped":
                "distributed is not installed (pip install 'tasktronaut[dask]')"}
    from tasktronaut.workers import DaskExecutor

    start = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        started = time.perf_counter() - start
        with DaskExecutor(client) as executor:
            wall, walls = best_of(repeats, lambda: NoOps.run(**kwargs, executor=executor))
    return row("overhead", label, NOOP_TASKS, wall, walls, "ms/step",
               wall / NOOP_TASKS * 1000, "<=", TARGET_DASK_MS, "ms",
               [f"cluster start {started:.2f} s, not counted"])


# --------------------------------------------------------------------------------------------
# Reporting


def _walls(walls: list[float]) -> str:
    return ", ".join(f"{w:.3f}" for w in walls) + " s"


def _shown(r: dict[str, Any]) -> tuple[str, str]:
    if r["unit"] == "%":
        return f"{r['value']:.1%}", f"{r['op']} {r['target']:.0%}"
    if r["unit"] == "x":
        return f"{r['value']:.2f}x", f"{r['op']} {r['target']:g}x"
    target = "-" if r["target"] == float("inf") else f"{r['op']} {r['target']:g} ms"
    return f"{r['value']:.3f} ms", target


def format_table(results: list[dict[str, Any]], env: dict[str, Any]) -> str:
    lines = [
        f"Python {env['python']} on {env['platform']}; {env['cpu_count']} cores "
        f"({env['cpus_usable']} usable); tasktronaut {env['tasktronaut']} "
        f"(source {env['source_digest']})",
        "No log sink; best wall of the repeats.",
        "",
    ]
    head = (f"{'workload':<46} {'tasks':>5} {'wall s':>8} | {'check':<10} {'measured':>10} "
            f"{'target':>10} {'result':>6}")
    blank = " " * (46 + 1 + 5 + 1 + 8)
    lines += [head, "-" * len(head)]
    for r in results:
        if "skipped" in r:
            lines.append(f"{r['label']:<46} {r['tasks']:>5} {'-':>8} | SKIPPED: {r['skipped']}")
            continue
        measured, target = _shown(r)
        result = "-" if target == "-" else ("PASS" if r["pass"] else "MISS")
        lines.append(f"{r['label']:<46} {r['tasks']:>5} {r['wall_s']:>8.3f} | "
                     f"{r['metric']:<10} {measured:>10} {target:>10} {result:>6}")
        for note in [*r["notes"], "repeats: " + _walls(r["walls_s"])]:
            lines.append(f"{blank} |   {note}")
    checked = [r for r in results if "skipped" not in r and r["target"] != float("inf")]
    lines.append("-" * len(head))
    lines.append(f"{sum(r['pass'] for r in checked)}/{len(checked)} checks passed")
    return "\n".join(lines)


WORKLOADS = ("cpu-parallel", "io-parallel", "overhead")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark thread, process and Dask workers.")
    parser.add_argument("--only", action="append", choices=WORKLOADS,
                        help="run one workload (repeatable)")
    parser.add_argument("--repeats", type=int, default=3, help="repeats per row (best is kept)")
    parser.add_argument("--no-dask", action="store_true", help="leave out the Dask row")
    parser.add_argument("--quick", action="store_true", help="one repeat per row")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results here")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats = 1
    quiet_logging()
    env = environment()
    results: list[dict[str, Any]] = []
    only = args.only or WORKLOADS
    try:
        if "cpu-parallel" in only:
            results += cpu_parallel(args.repeats)
        if "io-parallel" in only:
            results += io_parallel(args.repeats)
        if "overhead" in only:
            results += overhead(args.repeats, dask=not args.no_dask)
    except Exception as e:
        print(f"ERROR: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(format_table(results, env))
    if args.json:
        for r in results:
            if r.get("target") == float("inf"):
                r["target"] = None
        args.json.write_text(json.dumps({"environment": env, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    # Run through the importable name, so that workers find CpuWork & co. as
    # bench_workers.CpuWork (a worker process cannot import this process's __main__).
    import bench_workers

    sys.exit(bench_workers.main())
