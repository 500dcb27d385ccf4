"""Iteration: one group of steps per item, with a description for each item.

``builder.each(func)`` calls ``func`` with the process arguments and opens one sub-block per
item it yields. An item is a dict merged over the arguments, or a ``(dict, description)``
pair; the description names the item in the context of its steps. Iterations follow the mode
of the block around them: here the process is concurrent, so the files are handled side by
side, and each file's two steps are kept in order by a sequential block.

    python examples/iteration.py                        # three sample files
    python examples/iteration.py notes.txt todo.txt     # your own list of names

Nothing is read from disk: the "files" are names, and their "contents" are made up.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Iterator
from typing import Any

from tasktronaut import Builder, Context, ExecutionMode, ProcessDefinition, logcfg

_print_lock = threading.Lock()


def say(text: str) -> None:
    """Print one whole line at a time, even from several threads."""
    with _print_lock:
        print(text, flush=True)


class LoadFiles(ProcessDefinition):
    """Load, then measure, every file of a list."""

    process_execution_mode = ExecutionMode.CONCURRENT

    def define_process(self, builder: Builder) -> None:
        builder.expected_arguments(files=list[str])
        for item in builder.each(self.files_to_load):
            with item.sequential() as steps:
                steps.task(self.load)
                steps.task(self.measure)

    def files_to_load(self, files: list[str]) -> Iterator[tuple[dict[str, Any], str]]:
        for position, name in enumerate(files, start=1):
            yield {"file": name, "position": position}, f"Loading {name}"

    def load(self, file: str, context: Context) -> str:
        say(f"{context.description}: read {file}")
        return f"contents of {file}"

    def measure(self, file: str, position: int) -> int:
        size = len(file) * 100 + position
        say(f"{file} is #{position} and has {size} bytes")
        return size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Handle a list of files, one at a time.")
    parser.add_argument("files", nargs="*", default=["a.csv", "b.csv", "c.csv"])
    parser.add_argument("-t", "--threads", type=int, default=3, help="worker threads")
    args = parser.parse_args(argv)
    logcfg()
    root = LoadFiles.run(files=args.files, threads=args.threads)
    sizes = [value for name, value in root.ref.items() if name.startswith("LoadFiles.measure")]
    say(f"Measured {len(sizes)} file(s), {sum(sizes)} bytes in all")
    return 0 if root.ready else 1


if __name__ == "__main__":
    sys.exit(main())
