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
  which barely helps for pure-Python CPU work; ``--subprocess`` makes each action compute in a
  child process, so the two numbers are computed on two cores.

The result is printed on stdout (``F(30) = 832040``); the log goes to stderr.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
from typing import Any

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


def _slow_fib_into(n: int, shared: Any) -> None:
    """Child-process entry point: compute F(n) and store it in a shared value."""
    shared.value = slow_fib(n)


@task
def naive_fibonacci(n: int, in_child: bool = False):
    """F(n) in one CPU-bound action, optionally computed in a child process."""
    value: list[int] = []
    yield f"Naive Fibonacci {n}"
    yield Asset(value, lambda: bool(value))
    yield None
    if not in_child:
        value.append(slow_fib(n))
        return
    # A thread cannot run Python code in parallel with another thread, a process can.
    # The child sends its result back through shared memory ("q": a signed 64-bit integer).
    shared = multiprocessing.Value("q", -1)
    child = multiprocessing.Process(target=_slow_fib_into, args=(n, shared))
    child.start()
    child.join()
    if child.exitcode != 0:
        raise RuntimeError(f"child process computing F({n}) exited with {child.exitcode}")
    value.append(shared.value)


@collection
def fibonacci_numbers(ns: list[int], naive: bool = False, in_child: bool = False):
    """All of the requested Fibonacci numbers."""
    yield "Fibonacci numbers " + ", ".join(map(str, ns))
    if naive:
        yield [naive_fibonacci(n, in_child) for n in ns]
    else:
        yield [fibonacci(n) for n in ns]


def main(argv: list[str] | None = None) -> int:
    """Compute the numbers given on the command line and print them."""
    parser = argparse.ArgumentParser(description="Compute Fibonacci numbers with asset tasks.")
    parser.add_argument("n", type=int, nargs="+", help="indices of the numbers to compute")
    parser.add_argument("-t", "--threads", type=int, default=1, help="worker threads")
    parser.add_argument("--naive", action="store_true", help="one slow CPU-bound task per number")
    parser.add_argument(
        "--subprocess", action="store_true", help="with --naive: compute in child processes"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    if any(n < 0 for n in args.n):
        parser.error("indices must be >= 0")
    if args.subprocess and not args.naive:
        parser.error("--subprocess needs --naive")
    logcfg(verbose=args.verbose)
    root = fibonacci_numbers(args.n, args.naive, args.subprocess, threads=args.threads)
    if not root.ready:
        print("Not every number could be computed", file=sys.stderr)
        return 1
    for n, node in zip(args.n, req(root), strict=True):
        print(f"F({n}) = {ref(node)[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
