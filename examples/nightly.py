"""Nightly: a process to watch run, fail, and resume.

Three files are fetched side by side, merged, checked and published. Publishing needs the
warehouse to be open (a file ``warehouse-open`` in the folder): the first run fails there,
and once the warehouse is open a run with the same identifier and state file resumes at that
step, doing nothing twice::

    tasktronaut run examples/nightly.py:Nightly --arg folder=out --id nightly \\
        --state out/state.db -t 3 --report out/run.html
    touch out/warehouse-open
    tasktronaut run examples/nightly.py:Nightly --arg folder=out --id nightly \\
        --state out/state.db -t 3 --report out/run.html
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from tasktronaut import Builder, Context, ExecutionMode, ProcessDefinition, log

PAUSE = float(os.environ.get("NIGHTLY_PAUSE", "0.4"))
"""Seconds each step takes, so that there is something to watch."""


class Nightly(ProcessDefinition):
    """Fetch three files side by side, merge them, check the result, publish it."""

    process_execution_mode = ExecutionMode.SEQUENTIAL

    def define_process(self, builder: Builder) -> None:
        builder.expected_arguments(folder=str)
        with builder.concurrent() as fetching:
            for item in fetching.each(self.sources):
                item.task(self.fetch)
        builder.task(self.merge)
        builder.task(self.check)
        builder.task(self.publish)

    def sources(self, folder: str):
        for name in ("orders", "stock", "prices"):
            yield {"name": name}, f"Fetch {name}"

    def fetch(self, folder: str, name: str) -> int:
        time.sleep(PAUSE)
        rows = len(name) * 100
        print(f"fetched {rows} rows of {name}")
        Path(folder, f"{name}.csv").write_text(f"{rows}\n")
        return rows

    def merge(self, folder: str) -> int:
        time.sleep(PAUSE)
        total = sum(int(p.read_text()) for p in Path(folder).glob("*.csv"))
        log.info("Merged %s rows", total)
        return total

    def check(self, context: Context) -> None:
        time.sleep(PAUSE)
        print(f"checked {context.result(self.merge)} rows")

    def publish(self, folder: str) -> None:
        time.sleep(PAUSE)
        if not Path(folder, "warehouse-open").exists():
            raise ConnectionError(f"the warehouse is closed (no {folder}/warehouse-open)")
        Path(folder, "published").touch()
