"""Mixed modes: a sequential process with a concurrent block in the middle.

Breakfast is made in three phases. The kettle goes on first; once it has boiled, the toast,
the eggs and the coffee are made side by side (a concurrent block); only when all three are
done is breakfast served. The concurrent block nests a sequential block of its own: the eggs
are boiled, then peeled.

    python examples/mixed_modes.py          # three worker threads
    python examples/mixed_modes.py -t 1     # one thread: the same steps, one at a time

Each step prints a line when it starts and when it ends. Whatever the number of threads, the
kettle is the first step to finish and serving is the last to start.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time

from tasktronaut import Builder, ExecutionMode, ProcessDefinition, logcfg

_print_lock = threading.Lock()


def say(text: str) -> None:
    """Print one line at a time, even from several threads."""
    with _print_lock:
        print(text, flush=True)


class Breakfast(ProcessDefinition):
    """Boil water, make three things at once, then serve."""

    process_execution_mode = ExecutionMode.SEQUENTIAL

    def define_process(self, builder: Builder) -> None:
        builder.task(self.boil_water)
        with builder.concurrent(description="Cooking") as cooking:
            cooking.task(self.make_toast)
            cooking.task(self.make_coffee)
            with cooking.sequential(description="Eggs") as eggs:
                eggs.task(self.boil_eggs)
                eggs.task(self.peel_eggs)
        builder.task(self.serve)

    def _work(self, what: str) -> str:
        say(f"start  {what}")
        time.sleep(0.05)
        say(f"finish {what}")
        return what

    def boil_water(self) -> str:
        return self._work("boiling water")

    def make_toast(self) -> str:
        return self._work("toast")

    def make_coffee(self) -> str:
        return self._work("coffee")

    def boil_eggs(self) -> str:
        return self._work("boiling eggs")

    def peel_eggs(self) -> str:
        return self._work("peeling eggs")

    def serve(self) -> str:
        return self._work("serving breakfast")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Make breakfast with a mixed-mode process.")
    parser.add_argument("-t", "--threads", type=int, default=3, help="worker threads")
    args = parser.parse_args(argv)
    logcfg()
    root = Breakfast.run(threads=args.threads)
    say(f"Breakfast {'is served' if root.ready else 'did not happen'}")
    return 0 if root.ready else 1


if __name__ == "__main__":
    sys.exit(main())
