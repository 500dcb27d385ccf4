"""Fan-out at run time, results as arguments, and a cleanup step.

A listing step finds the files of a "bucket"; a dynamic ``each`` adds one load step per
file it found (the items are only known once the listing ran); a report step takes the
listing's result as an argument; a cleanup step releases the lock whatever happened.

    python examples/fanout.py 5          # five files
    python examples/fanout.py 5 --fail   # a load fails: the cleanup still runs
"""

from __future__ import annotations

import sys

from tasktronaut import Context, ExecutionMode, ProcessDefinition, logcfg


class Bucket(ProcessDefinition):
    """List the bucket, load each file, report, and always release the lock."""

    process_execution_mode = ExecutionMode.SEQUENTIAL

    def define_process(self, builder):
        builder.expected_arguments(files=int, fail=bool)
        builder.task(self.lock)
        builder.task(self.listing)
        for item in builder.each(self.found, dynamic=True):
            item.task(self.load)
        builder.task(self.report, inputs={"names": self.listing})
        builder.task(self.release, always=True)

    def lock(self):
        print("lock taken")

    def listing(self, files):
        return [f"part-{n}.csv" for n in range(files)]

    def found(self, context: Context):
        for name in context.result(self.listing):
            yield {"name": name}, f"Load {name}"

    def load(self, name, fail):
        if fail and name.endswith("-1.csv"):
            raise ValueError(f"{name} is damaged")
        return len(name)

    def report(self, names):
        print(f"report: {len(names)} files loaded")

    def release(self):
        print("lock released")


if __name__ == "__main__":
    logcfg()
    root = Bucket.run(files=int(sys.argv[1]) if len(sys.argv) > 1 else 3,
                      fail="--fail" in sys.argv, threads=2)
    sys.exit(0 if root.ready else 1)
