"""What watching a run costs: the run record, the progress counts and the report, per task.

The workload is a fan-out of N no-op asset tasks (in-memory assets) under one collection,
run on the calling thread, so what is measured is the engine plus the observers. Rows:

- ``none``: no observers at all (the engine's own path);
- ``disabled``: an observer that overrides no hook point: the engine drops it when the run
  starts, so this must cost what ``none`` costs (zero cost when disabled);
- ``facts+progress``: the run record (``RunFacts``) and the progress counts (``Tally``);
- ``facts+progress+report``: the same, plus writing the HTML report afterwards.

Each row is the best of several repeats, in microseconds per task; ``overhead`` is the
difference to ``none``. Run ``python benchmarks/bench_observers.py`` (``make bench``);
``--quick`` for a smaller graph.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

try:
    import tasktronaut
except ImportError:  # running from a checkout without an installed package
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import tasktronaut

from loguru import logger

from tasktronaut import Asset, RunFacts, collection, task
from tasktronaut.cli.display import Tally
from tasktronaut.cli.report import write_report
from tasktronaut.engine.events import Observer

TARGET_DISABLED_RATIO = 1.10
"""A disabled observer may cost at most this much of a run without observers (noise)."""


@task
def noop(key: int, done: set[int]):
    yield f"noop {key}"
    yield Asset(key, lambda: key in done)
    yield None
    done.add(key)


@collection
def fan_out(n: int, done: set[int]):
    yield f"fan-out of {n}"
    yield [noop(i, done) for i in range(n)]


def timed(n: int, observers: Callable[[], list[Any]], report: Path | None) -> float:
    """Seconds to build and run the fan-out once (and write the report, if asked)."""
    done: set[int] = set()
    start = time.perf_counter()
    root = fan_out.build(n, done)
    watching = observers()
    root = root.run(observers=watching) if watching else root.run()
    if report is not None:
        write_report(root.run_record, report)
    seconds = time.perf_counter() - start
    assert root.ready
    return seconds


def measure(n: int, repeats: int, report: Path) -> dict[str, float]:
    """Best seconds per configuration; the configurations take turns in each round, so that
    warming up and the state of the heap favour none of them."""
    configurations: dict[str, tuple[Callable[[], list[Any]], Path | None]] = {
        "none": (list, None),
        "disabled": (lambda: [Observer()], None),
        "facts+progress": (lambda: [RunFacts(), Tally()], None),
        "facts+progress+report": (lambda: [RunFacts(), Tally()], report),
    }
    timed(n, list, None)  # warm up
    best = dict.fromkeys(configurations, float("inf"))
    for _ in range(repeats):
        for name, (observers, path) in configurations.items():
            best[name] = min(best[name], timed(n, observers, path))
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller graph, fewer repeats")
    args = parser.parse_args(argv)
    n, repeats = (2_000, 3) if args.quick else (20_000, 5)
    logger.remove()
    with tempfile.TemporaryDirectory() as folder:
        rows = measure(n, repeats, Path(folder) / "run.html")
    base = rows["none"]
    print(f"Observers, fan-out of {n} no-op tasks (best of {repeats}), tasktronaut "
          f"{tasktronaut.__version__}")
    print(f"{'observers':<24}{'µs/task':>10}{'overhead µs/task':>18}")
    for name, seconds in rows.items():
        print(f"{name:<24}{seconds / n * 1e6:>10.2f}{(seconds - base) / n * 1e6:>18.2f}")
    ratio = rows["disabled"] / base
    verdict = "ok" if ratio <= TARGET_DISABLED_RATIO else "MISS"
    print(f"disabled / none = {ratio:.3f} (target <= {TARGET_DISABLED_RATIO}): {verdict}")
    return 0 if verdict == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
