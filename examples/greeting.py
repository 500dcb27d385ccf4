"""Greeting: the smallest useful process, two steps one after the other.

A process is a class. ``define_process`` lists its steps with the builder; each step is a
method that receives the process arguments it names in its signature. Steps run in the order
they were added because the process is sequential.

    python examples/greeting.py               # greets the world
    python examples/greeting.py Ada           # greets Ada

What the steps do is printed on stdout; the engine's log goes to stderr. The exit status is 0
when every step finished.
"""

from __future__ import annotations

import argparse
import sys

from tasktronaut import Builder, Context, ExecutionMode, ProcessDefinition, logcfg


class Greeting(ProcessDefinition):
    """Say hello, then say goodbye."""

    process_execution_mode = ExecutionMode.SEQUENTIAL

    def define_process(self, builder: Builder) -> None:
        builder.expected_arguments(name=str)
        builder.task(self.say_hello)
        builder.task(self.say_goodbye)

    def say_hello(self, name: str) -> str:
        message = f"Hello, {name}!"
        print(message)
        return message

    def say_goodbye(self, name: str, context: Context) -> str:
        # An earlier step's return value is its result; later steps can read it.
        earlier = context.result(self.say_hello)
        message = f"Goodbye, {name}! (I said {earlier!r} earlier.)"
        print(message)
        return message


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Greet someone with a two-step process.")
    parser.add_argument("name", nargs="?", default="World", help="who to greet")
    args = parser.parse_args(argv)
    logcfg()
    root = Greeting.run(name=args.name)
    print(f"Steps finished: {', '.join(root.ref)}")
    return 0 if root.ready else 1


if __name__ == "__main__":
    sys.exit(main())
