"""Fibonacci numbers computed by asset tasks whose results live in memory.

An asset does not have to be a file. Here each task keeps its result in a list that its
asset refers to: the list is empty (not ready) until the action appends the value, and any task
that requires this one reads the value back through ``ref(node)``.

Two ways to compute, to compare how the engine treats the work:

* ``python examples/fibonacci.py 30`` builds one task per Fibonacci number: F(n) requires
  F(n-1) and F(n-2). Both F(n+1) and F(n+2) ask for F(n), and since tasks with the same name
  are one node, every number is computed once.
* ``python examples/fibonacci.py --naive 30 31`` computes each number in a single CPU-bound
  task with the slow doubly recursive formula. With ``-t 2`` the two tasks run in two threads,
  which barely helps for pure-Python CPU work; ``-p 2`` runs each action in a worker process
  (``executor="process"``), so the two numbers are computed on two cores. A worker process
  cannot fill a list in this process, so that variant keeps each result in a file, which the
  engine checks from here.

The result is printed on stdout (``F(30) = 832040``); the log goes to stderr.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from tasktronaut import Asset, collection, logcfg, ref, req, task


@task
def fibonacci(n: int):
    """F(n), computed from the two Fibonacci numbers before it."""
    value: list[int] = []
    yield f"Fibonacci {n}"
    yield Asset(value, lambda: bool(value))
    previous = [fibonacci(n - 1), fibonacci(n - 2)] if n > 1 else None
    yield previous
    if previous is None:
        value.append(n)
    else:
        value.append(sum(ref(node)[0] for node in previous))


def slow_fib(n: int) -> int:
    """F(n) by plain double recursion: exponential time, on purpose."""
    return n if n < 2 else slow_fib(n - 1) + slow_fib(n - 2)


@task
def naive_fibonacci(n: int):
    """F(n) in one CPU-bound action."""
    value: list[int] = []
    yield f"Naive Fibonacci {n}"
    yield Asset(value, lambda: bool(value))
    yield None
    value.append(slow_fib(n))


@task(executor="process")
def naive_fibonacci_file(n: int, folder: str):
    """F(n) in one CPU-bound action in a worker process; the result is a file."""
    path = Path(folder) / f"fib-{n}.txt"
    yield f"Naive Fibonacci {n} in {path.name}"
    yield Asset(path, path.exists)
    yield None
    path.write_text(str(slow_fib(n)))


@collection
def fibonacci_numbers(ns: list[int], naive: bool = False, folder: str | None = None):
    """All of the requested Fibonacci numbers."""
    yield "Fibonacci numbers " + ", ".join(map(str, ns))
    if folder is not None:
        yield [naive_fibonacci_file(n, folder) for n in ns]
    elif naive:
        yield [naive_fibonacci(n) for n in ns]
    else:
        yield [fibonacci(n) for n in ns]


def _value(node) -> int:  # type: ignore[no-untyped-def]
    reference = ref(node)
    return int(reference.read_text()) if isinstance(reference, Path) else reference[0]


def main(argv: list[str] | None = None) -> int:
    """Compute the numbers given on the command line and print them."""
    parser = argparse.ArgumentParser(description="Compute Fibonacci numbers with asset tasks.")
    parser.add_argument("n", type=int, nargs="+", help="indices of the numbers to compute")
    parser.add_argument("-t", "--threads", type=int, default=1, help="worker threads")
    parser.add_argument("--naive", action="store_true", help="one slow CPU-bound task per number")
    parser.add_argument(
        "-p", "--processes", type=int, default=0,
        help="with --naive: compute in N worker processes (results kept in files)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    if any(n < 0 for n in args.n):
        parser.error("indices must be >= 0")
    if args.processes and not args.naive:
        parser.error("--processes needs --naive")
    logcfg(verbose=args.verbose)
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        root = fibonacci_numbers(args.n, args.naive, folder if args.processes else None,
                                 threads=args.threads, processes=args.processes)
        seconds = time.perf_counter() - start
        if not root.ready:
            print("Not every number could be computed", file=sys.stderr)
            return 1
        for n, node in zip(args.n, req(root), strict=True):
            print(f"F({n}) = {_value(node)}")
    print(f"({seconds:.2f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
