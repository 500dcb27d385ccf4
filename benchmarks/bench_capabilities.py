"""Run-time capabilities: async throughput, and what a dynamic ``each`` costs per item.

* async: 10,000 no-op coroutines (asset tasks written as async generators) on the run's
  event loop, µs per task, beside the same tasks written as plain generators on one thread;
* dynamic fan-out: a process whose ``each`` runs at run time over 5,000 items, µs per item
  (build + run), beside the same process with a static ``each``.

Best of ``--rounds`` (default 3) fresh runs each, configurations taking turns.
``python benchmarks/bench_capabilities.py [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

try:
    import tasktronaut  # noqa: F401
except ImportError:  # running from a checkout without an installed package
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tasktronaut import Asset, ExecutionMode, ProcessDefinition, collection, task


def async_tasks(n: int) -> Callable[[], Any]:
    done: set[int] = set()

    @task
    async def leaf(i: int):
        yield f"leaf {i}"
        yield Asset(i, lambda: i in done)
        yield None
        await asyncio.sleep(0)
        done.add(i)

    @collection
    def join(n: int):
        yield "join"
        yield [leaf(i) for i in range(n)]

    return lambda: join.build(n).run(async_limit=1000)


def sync_tasks(n: int) -> Callable[[], Any]:
    done: set[int] = set()

    @task
    def leaf(i: int):
        yield f"leaf {i}"
        yield Asset(i, lambda: i in done)
        yield None
        done.add(i)

    @collection
    def join(n: int):
        yield "join"
        yield [leaf(i) for i in range(n)]

    return lambda: join.build(n).run()


class Fanout(ProcessDefinition):
    """``count`` items from an earlier step, each a no-op step; static or dynamic."""

    process_execution_mode = ExecutionMode.CONCURRENT

    def define_process(self, builder: Any) -> None:
        builder.expected_arguments(count=int, dynamic=bool)
        dynamic = builder.kwargs["dynamic"]
        for item in builder.each(self.items, dynamic=dynamic):
            item.task(self.nothing)

    def items(self, count: int) -> list[dict[str, int]]:
        return [{"i": i} for i in range(count)]

    def nothing(self, i: int) -> int:
        return i


def best(make: Callable[[], Callable[[], Any]], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        run = make()
        start = time.perf_counter()
        root = run()
        times.append(time.perf_counter() - start)
        assert root.ready
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    n_async = 2_000 if args.quick else 10_000
    n_items = 1_000 if args.quick else 5_000
    rows = [
        ("async no-op tasks, event loop", n_async, lambda: async_tasks(n_async)),
        ("the same as plain tasks, 1 thread", n_async, lambda: sync_tasks(n_async)),
        ("dynamic each, build + run", n_items,
         lambda: (lambda: Fanout.run(count=n_items, dynamic=True))),
        ("static each, build + run", n_items,
         lambda: (lambda: Fanout.run(count=n_items, dynamic=False))),
    ]
    print(f"{'workload':40} {'n':>7} {'best s':>8} {'µs/item':>8}")
    for label, n, make in rows:
        seconds = best(make, args.rounds)
        print(f"{label:40} {n:>7,} {seconds:>8.3f} {seconds / n * 1e6:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
