"""Batch pipeline: the process features together, on a batch of CSV files.

The pipeline waits until every input file of the batch has been delivered (an ``@external``
asset task per file, mixed into the process), then prepares the output folder, validates and
counts the rows of every file (the files side by side, the two steps of each file in order),
writes a summary, and publishes an index and checksums in a sub-process of its own. With the
``notify`` option it also announces the result.

    WORKDIR/
        in/a.csv ...           the batch (this script writes sample files if they are missing)
        out/summary-DAY.txt    rows per file
        out/index.txt          the files of the batch
        out/checksums.txt      SHA-256 of every file

Run it:

    python examples/batch_pipeline.py                       # sample batch in a temp folder
    python examples/batch_pipeline.py work --notify -t 4    # in ./work, four threads
    python examples/batch_pipeline.py work --day 2025-11-17 --files a.csv b.csv

A file whose rows do not all have two columns fails its validation step: the other files are
still handled, but nothing after them runs and the exit status is 1. The worked example of
testing this process is ``examples/test_batch_pipeline.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any, Optional

from tasktronaut import (
    Asset,
    Builder,
    Context,
    ExecutionMode,
    NonRetryableProcessError,
    ProcessDefinition,
    external,
    logcfg,
)

HEADER = "id,value"


@external
def input_file(path: Path):
    """A file of the batch, delivered by someone else."""
    yield f"Input {path.name}"
    yield Asset(path, path.is_file)


class Publish(ProcessDefinition):
    """Write the index and the checksums of the batch, side by side."""

    process_execution_mode = ExecutionMode.CONCURRENT

    def define_process(self, builder: Builder) -> None:
        builder.task(self.write_index)
        builder.task(self.write_checksums)

    def write_index(self, workdir: Path, files: list[str]) -> Path:
        index = workdir / "out" / "index.txt"
        index.write_text("".join(f"{name}\n" for name in files))
        return index

    def write_checksums(self, workdir: Path, files: list[str]) -> Path:
        checksums = workdir / "out" / "checksums.txt"
        lines = [
            f"{hashlib.sha256((workdir / 'in' / name).read_bytes()).hexdigest()}  {name}\n"
            for name in files
        ]
        checksums.write_text("".join(lines))
        return checksums


class BatchPipeline(ProcessDefinition):
    """Validate and count every CSV file of a batch, summarise, publish."""

    process_execution_mode = ExecutionMode.SEQUENTIAL

    def define_process(self, builder: Builder) -> None:
        builder.expected_arguments(workdir=Path, files=list[str], day=Optional[date])  # noqa: UP045
        with builder.concurrent(description="Inputs") as inputs:
            for item in inputs.each(self.batch):
                item.task(input_file(item.kwargs["path"]))
        builder.task(self.prepare)
        with builder.concurrent(description="Files") as checks:
            for item in checks.each(self.batch):
                name = item.kwargs["file"]
                with item.sequential() as one:
                    one.task(self.validate, description=f"Validate {name}")
                    one.task(self.count_rows, description=f"Count rows in {name}")
        with builder.transform(self.summary_path) as summary:
            summary.task(self.write_summary, description="Write the summary")
        builder.sub_process(Publish)
        if builder.option("notify", False):
            builder.task(self.notify)

    def batch(self, workdir: Path, files: list[str]) -> Iterator[tuple[dict[str, Any], str]]:
        """One item per file of the batch."""
        for name in files:
            yield {"file": name, "path": workdir / "in" / name}, f"File {name}"

    def summary_path(self, workdir: Path, day: date | None) -> dict[str, Any]:
        label = day.isoformat() if day else "latest"
        return {"summary": workdir / "out" / f"summary-{label}.txt"}

    def prepare(self, workdir: Path) -> Path:
        out = workdir / "out"
        out.mkdir(parents=True, exist_ok=True)
        return out

    def validate(self, file: str, path: Path) -> int:
        lines = path.read_text().splitlines()
        if not lines or lines[0] != HEADER:
            raise NonRetryableProcessError(f"{file}: the first line must be {HEADER!r}")
        for number, line in enumerate(lines[1:], start=2):
            if len(line.split(",")) != 2:
                raise NonRetryableProcessError(f"{file}: line {number} does not have 2 columns")
        return len(lines)

    def count_rows(self, path: Path) -> int:
        return len(path.read_text().splitlines()) - 1

    def write_summary(self, files: list[str], summary: Path, context: Context) -> Path:
        rows = {name: context.result(f"Count rows in {name}") for name in files}
        lines = [f"{name}: {count} rows\n" for name, count in rows.items()]
        lines.append(f"total: {sum(rows.values())} rows\n")
        summary.write_text("".join(lines))
        return summary

    def notify(self, context: Context) -> str:
        message = f"Batch done, summary in {context.result(self.write_summary)}"
        print(message)
        return message

    def on_failed(self, identifier: str | None, step: str, error: BaseException) -> None:
        super().on_failed(identifier, step, error)
        print(f"FAILED {step}: {error}")


def write_samples(workdir: Path, files: list[str]) -> None:
    """Sample inputs: file number n has n * 2 rows. Existing files are left alone."""
    (workdir / "in").mkdir(parents=True, exist_ok=True)
    for n, name in enumerate(files, start=1):
        path = workdir / "in" / name
        if not path.exists():
            rows = "".join(f"{i},{i * n}\n" for i in range(n * 2))
            path.write_text(f"{HEADER}\n{rows}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Validate, count and publish a CSV batch.")
    parser.add_argument("workdir", nargs="?", help="working folder (default: a temporary one)")
    parser.add_argument("--files", nargs="+", default=["a.csv", "b.csv", "c.csv"])
    parser.add_argument("--day", type=date.fromisoformat, help="the day of the batch (ISO date)")
    parser.add_argument("--notify", action="store_true", help="announce the result")
    parser.add_argument("-t", "--threads", type=int, default=2, help="worker threads")
    args = parser.parse_args(argv)
    logcfg()
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(args.workdir or scratch)
        write_samples(workdir, args.files)
        root = BatchPipeline.run(
            options={"notify": args.notify}, threads=args.threads, workdir=workdir,
            files=args.files, day=args.day,
        )
        if not root.ready:
            print("The batch was not completed")
            return 1
        for path in sorted((workdir / "out").iterdir()):
            print(f"== {path.name}")
            print(path.read_text(), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
