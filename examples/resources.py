"""Priorities and resource limits: eight reports share a database that takes two queries.

Each report step holds one ``db`` connection while it runs; the run has two. With four
threads, never more than two reports query at once, and the urgent report starts first.

    python examples/resources.py
"""

from __future__ import annotations

import sys
import threading
import time

from tasktronaut import ExecutionMode, ProcessDefinition, logcfg

IN_USE = {"now": 0, "peak": 0}
LOCK = threading.Lock()


class Reports(ProcessDefinition):
    """Eight reports, one of them urgent."""

    process_execution_mode = ExecutionMode.CONCURRENT

    def define_process(self, builder):
        for region in ("north", "south", "east", "west", "alps", "coast", "lakes"):
            builder.task(self.report, description=f"report {region}", resources={"db": 1})
        builder.task(self.report, description="report urgent", resources={"db": 1},
                     priority=10)

    def report(self, context):
        with LOCK:
            IN_USE["now"] += 1
            IN_USE["peak"] = max(IN_USE["peak"], IN_USE["now"])
        time.sleep(0.2)  # the query
        with LOCK:
            IN_USE["now"] -= 1
        return context.step


if __name__ == "__main__":
    logcfg()
    root = Reports.build().run(threads=4, resources={"db": 2})
    print(f"at most {IN_USE['peak']} queries at once; ready: {root.ready}")
    sys.exit(0 if root.ready else 1)
