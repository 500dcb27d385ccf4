"""Background-run benchmarks: how long ``submit`` takes, and how many runs a worker does.

* ``submit``: ``submit(Empty, state=<file>)`` N times into the embedded queue (a SQLite state
  file); median, 95th percentile and worst latency in ms. Nothing runs.
* ``throughput``: M queued runs of a process with one no-op step, then one ``Worker`` (with
  ``concurrency`` 1, then 2) serves them until the queue is empty; runs per second per worker.
  Each run is taken under a lease, built, run with its completion recorded, and concluded:
  four write transactions plus the engine's own (arguments, lease, one step).

Run ``python benchmarks/bench_background.py`` (``--quick`` for smaller numbers); the state
files live in a temporary directory that is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # running from a checkout without an installed package
    sys.path.insert(1, str(HERE.parent))
if str(HERE) not in sys.path:
    sys.path.insert(1, str(HERE))

from bench_engine import environment, quiet_logging  # noqa: E402

from tasktronaut import Builder, ProcessDefinition  # noqa: E402
from tasktronaut.background import SQLiteQueue, Status, Worker, submit  # noqa: E402


class Empty(ProcessDefinition):
    """One step that does nothing."""

    def define_process(self, builder: Builder) -> None:
        builder.task(self.nothing)

    def nothing(self) -> None:
        return None


def bench_submit(folder: Path, count: int) -> dict[str, Any]:
    state = folder / "submit.db"
    submit(Empty, state=state)  # creates the file: not part of the measurement
    timings = []
    for _ in range(count):
        start = time.perf_counter()
        submit(Empty, state=state)
        timings.append((time.perf_counter() - start) * 1000)
    timings.sort()
    return {"submits": count, "median_ms": statistics.median(timings),
            "p95_ms": timings[int(len(timings) * 0.95) - 1], "max_ms": timings[-1]}


def bench_throughput(folder: Path, runs: int, concurrency: int) -> dict[str, Any]:
    state = folder / f"throughput-{concurrency}.db"
    queue = SQLiteQueue(state)
    for _ in range(runs):
        submit(Empty, backend=queue)
    worker = Worker(queue, concurrency=concurrency, poll=0.01, schedules=False)
    start = time.perf_counter()
    worker.run(until_idle=True)
    seconds = time.perf_counter() - start
    done = len(queue.runs(Status.SUCCEEDED))
    queue.close()
    return {"runs": runs, "concurrency": concurrency, "seconds": seconds,
            "runs_per_second": done / seconds, "succeeded": done}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller numbers")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    options = parser.parse_args(argv)
    quiet_logging()
    submits, runs = (100, 50) if options.quick else (500, 300)
    with tempfile.TemporaryDirectory(prefix="bench-background-") as tmp:
        folder = Path(tmp)
        results = {"environment": environment(), "submit": bench_submit(folder, submits),
                   "throughput": [bench_throughput(folder, runs, c) for c in (1, 2)]}
    s = results["submit"]
    print(f"submit (embedded queue): median {s['median_ms']:.2f} ms, p95 {s['p95_ms']:.2f} ms,"
          f" max {s['max_ms']:.2f} ms over {s['submits']} submits")
    for t in results["throughput"]:
        print(f"worker concurrency {t['concurrency']}: {t['runs_per_second']:.0f} empty runs/s "
              f"({t['succeeded']}/{t['runs']} in {t['seconds']:.2f} s)")
    if options.json is not None:
        options.json.write_text(json.dumps(results, indent=2))
    failed = any(t["succeeded"] != t["runs"] for t in results["throughput"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
