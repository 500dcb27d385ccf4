"""CPU-bound steps of a process, run side by side in worker processes.

The process counts the primes below a limit. The range is cut into chunks; one step per chunk
counts the primes in it (pure Python, so pure CPU work), all chunks in one concurrent block;
a last step adds the counts up. The steps say where they run through a process option:

    python examples/cpu_process.py                 # both ways, and the speed-up
    python examples/cpu_process.py --limit 400000 --chunks 8 -p 2

The script runs the process twice: first with every step on the calling thread, one after the
other, then with the counting steps in worker processes, which run on as many cores as there
are processes. It prints both wall times. Threads would not help here: only one thread at a
time runs Python code, so CPU-bound steps need processes.

The steps are shipped to the workers by reference (this class and a method name, plus the
step's arguments), so they must be methods of a class a worker can import: a module-level
class, as here. The same process runs from the command line too:

    tasktronaut run examples/cpu_process.py:PrimeCount --arg limit=300000 --arg chunks=4 -p 2
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

from tasktronaut import Builder, Context, ProcessDefinition, logcfg


def is_prime(n: int) -> bool:
    """Trial division: deliberately plain Python."""
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    return all(n % d for d in range(3, math.isqrt(n) + 1, 2))


BLOCK = 10_000


class PrimeCount(ProcessDefinition):
    """Count the primes below a limit, one chunk of the range per step."""

    def define_process(self, builder: Builder) -> None:
        builder.expected_arguments(limit=int, chunks=int)
        where = builder.option("executor", "process")
        with builder.concurrent(description="Counting") as block:
            for chunk in block.each(self.chunks):
                chunk.task(self.count, executor=where)
        builder.task(self.total)

    def chunks(self, chunks: int, **_: object):
        """One item per chunk, with a description naming it."""
        for part in range(chunks):
            yield {"part": part}, f"Primes, part {part + 1} of {chunks}"

    def count(self, part: int, chunks: int, limit: int) -> int:
        """The primes in blocks part, part + chunks, part + 2 * chunks, ... of the range.

        Larger numbers take longer to test, so each chunk takes blocks from all over the
        range: the chunks then cost about the same, and no worker waits for a slow one.
        """
        return sum(
            1
            for first in range(part * BLOCK, limit, chunks * BLOCK)
            for n in range(first, min(first + BLOCK, limit))
            if is_prime(n)
        )

    def total(self, context: Context) -> int:
        """Every step before this one counted a chunk: add their counts up."""
        return sum(context.results.values())


def timed(limit: int, chunks: int, **run: object) -> tuple[int, float]:
    """Run the process; return the number of primes and the wall time in seconds."""
    start = time.perf_counter()
    root = PrimeCount.run(limit=limit, chunks=chunks, **run)  # type: ignore[arg-type]
    seconds = time.perf_counter() - start
    if not root.ready:
        raise SystemExit("the process did not finish; run with -v to see why")
    return root.ref["PrimeCount.total"], seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Count primes with CPU-bound process steps.")
    parser.add_argument("--limit", type=int, default=600_000, help="count primes below this")
    parser.add_argument("--chunks", type=int, default=4, help="steps in the concurrent block")
    parser.add_argument("-p", "--processes", type=int, default=os.cpu_count() or 1,
                        help="worker processes (default: one per core)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every step")
    args = parser.parse_args(argv)
    if args.verbose:
        logcfg(verbose=True)

    serial, serial_s = timed(args.limit, args.chunks, options={"executor": "thread"})
    parallel, parallel_s = timed(args.limit, args.chunks, processes=args.processes)
    assert serial == parallel
    print(f"primes below {args.limit:,}: {parallel:,} ({args.chunks} steps)")
    print(f"serial, one thread:           {serial_s:6.2f} s")
    print(f"parallel, {args.processes} worker processes: {parallel_s:6.2f} s"
          f"   speed-up {serial_s / parallel_s:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
