"""Sub-processes: one process embedded in another, each with its own mode and hooks.

Fulfilling an order is sequential: take the order, pack it, ship it, confirm it. Packing is
a process of its own whose steps run concurrently; shipping is another, sequential one. A
sub-process receives the arguments and options of the process around it, and its
``on_started``/``on_completed`` hooks fire when its own part of the run starts and ends.

    python examples/sub_process.py                 # order 42, two worker threads
    python examples/sub_process.py --order 7 -t 1

Steps and hooks print what they do on stdout; the results of every step, sub-processes
included, are printed at the end.
"""

from __future__ import annotations

import argparse
import sys
import threading

from tasktronaut import Builder, ExecutionMode, ProcessDefinition, logcfg

_print_lock = threading.Lock()


def say(text: str) -> None:
    with _print_lock:
        print(text, flush=True)


class Announced(ProcessDefinition):
    """A process that says when it starts and when it is done."""

    def on_started(self, identifier: str | None) -> None:
        say(f"[{type(self).__name__}] started")

    def on_completed(self, identifier: str | None) -> None:
        say(f"[{type(self).__name__}] completed")


class Packing(Announced):
    """Pick the items and print the label at the same time."""

    process_execution_mode = ExecutionMode.CONCURRENT

    def define_process(self, builder: Builder) -> None:
        builder.task(self.pick_items)
        builder.task(self.print_label)

    def pick_items(self, order: int) -> list[str]:
        say(f"picking the items of order {order}")
        return ["book", "mug"]

    def print_label(self, order: int) -> str:
        say(f"printing the label of order {order}")
        return f"LABEL-{order}"


class Shipping(Announced):
    """Hand the parcel over, then track it."""

    process_execution_mode = ExecutionMode.SEQUENTIAL

    def define_process(self, builder: Builder) -> None:
        builder.task(self.hand_over)
        if builder.option("express", False):
            builder.task(self.track)

    def hand_over(self, order: int) -> str:
        say(f"handing over order {order}")
        return "handed over"

    def track(self, order: int) -> str:
        say(f"tracking order {order} (express)")
        return "tracked"


class Fulfilment(Announced):
    """Take an order, pack it, ship it, confirm it."""

    process_execution_mode = ExecutionMode.SEQUENTIAL

    def define_process(self, builder: Builder) -> None:
        builder.expected_arguments(order=int)
        builder.task(self.take_order)
        builder.sub_process(Packing)
        builder.sub_process(Shipping, description="Shipping by courier")
        builder.task(self.confirm)

    def take_order(self, order: int) -> str:
        say(f"taking order {order}")
        return "taken"

    def confirm(self, order: int) -> str:
        say(f"confirming order {order}")
        return "confirmed"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fulfil an order with sub-processes.")
    parser.add_argument("--order", type=int, default=42)
    parser.add_argument("-t", "--threads", type=int, default=2, help="worker threads")
    args = parser.parse_args(argv)
    logcfg()
    root = Fulfilment.run(options={"express": True}, threads=args.threads, order=args.order)
    for name, result in root.ref.items():
        say(f"result of {name}: {result}")
    return 0 if root.ready else 1


if __name__ == "__main__":
    sys.exit(main())
