"""Time one workload of one engine in this process and print the result as one JSON line.

``bench_peers.py`` starts this script once per engine, workload and round, so every engine
runs in a fresh interpreter of its own and imports nothing of the others::

    python benchmarks/peer_run.py iotaa fan-out --size 20000 --threads 2 --repeats 1

Engines: ``tasktronaut``, ``iotaa``, ``dask-threaded``, ``dask-sync``. Before timing, the
workload runs once at a small size (untimed) to warm up the imports and code paths a first
run pays for. Each timed repeat starts from fresh task functions after a full
``gc.collect()``; the collector stays enabled while timing, as in real use. Each repeat's
process CPU time (all threads; ``time.process_time``) is reported beside its wall. ``--memory``
adds one more repeat under ``tracemalloc`` (never timed) and reports its peak per node.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:  # running from a checkout without an installed package
    sys.path.append(str(ROOT))

ENGINES = {
    "tasktronaut": ("peer_tasktronaut", None),
    "iotaa": ("peer_iotaa", None),
    "dask-threaded": ("peer_dask", "threaded"),
    "dask-sync": ("peer_dask", "sync"),
}
Timed = Callable[[], "str | None"]
Trial = Callable[[], Timed]


def _trial(engine: str, workload: str, size: int, threads: int) -> tuple[Trial, int]:
    module_name, scheduler = ENGINES[engine]
    module = importlib.import_module(module_name)
    if scheduler is None:
        trial = module.make(workload, size, threads)
    else:
        trial = module.make(workload, size, threads, scheduler)
    return trial, module.units(workload, size)


def warm_size(workload: str, size: int) -> int:
    """A small size of the same workload, run once before the timed repeats."""
    if workload == "layered":
        return 2
    return max(10, min(size // 20, 500))


def measure(
    engine: str, workload: str, size: int, threads: int, repeats: int, memory: bool
) -> dict[str, Any]:
    """Warm up, time ``repeats`` fresh repeats, optionally trace one more for memory."""
    out: dict[str, Any] = {
        "engine": engine,
        "workload": workload,
        "size": size,
        "threads": threads,
        "walls_s": [],
        "cpus_s": [],
        "error": None,
    }
    warm, _ = _trial(engine, workload, warm_size(workload, size), threads)
    out["error"] = warm()()
    trial, units = _trial(engine, workload, size, threads)
    out["units"] = units
    for _ in range(repeats):
        timed = trial()
        gc.collect()
        cpu, start = time.process_time(), time.perf_counter()
        error = timed()
        out["walls_s"].append(time.perf_counter() - start)
        out["cpus_s"].append(time.process_time() - cpu)
        out["error"] = out["error"] or error
        del timed
    if memory:
        timed = trial()
        gc.collect()
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            error = timed()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        out["error"] = out["error"] or error
        out["peak_bytes"] = peak
        out["bytes_per_unit"] = peak / units
    if out["walls_s"]:
        out["wall_s"] = min(out["walls_s"])
        out["us_per_unit"] = out["wall_s"] / units * 1e6
        out["cpu_us_per_unit"] = min(out["cpus_s"]) / units * 1e6
    return out


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("engine", choices=sorted(ENGINES))
    p.add_argument("workload")
    p.add_argument("--size", type=int, required=True)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--memory", action="store_true", help="trace one more repeat for memory")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        out = measure(
            args.engine, args.workload, args.size, args.threads, args.repeats, args.memory
        )
    except Exception as e:  # report it to the parent, which shows it in the table
        out = {"engine": args.engine, "workload": args.workload, "walls_s": [],
               "error": f"{type(e).__name__}: {e}"}
    print(json.dumps(out), flush=True)
    return 1 if out["error"] else 0


if __name__ == "__main__":
    sys.exit(main())
