"""A time gate: a task that may not run before a given wall-clock time.

The gate is an external task. Its asset is not a file but a moment: it is ready once the clock
has reached that moment, and no action of the workflow can make it ready sooner. A task that
requires the gate stays blocked until then; a run after that time goes through.

    python examples/timegate.py                    # gate opens 3 s from now, in a temp dir
    python examples/timegate.py --in 5 out/        # 5 s from now; the file goes to out/
    python examples/timegate.py --at 2030-01-01T00:00:00 --once out/   # one try, exit 1 if shut

Without ``--once`` the workflow is run again every ``--poll`` seconds until the file is
written; each run is a fresh, complete run of the workflow, as a cron job would do. Once the
file exists, runs find it ready and do not even look at the gate.

The same tasks work from the command line:
``tasktronaut run examples/timegate.py:stamped_file out/stamp 2030-01-01T00:00:00``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tasktronaut import Asset, external, logcfg, task

FILENAME = "stamp"


def as_utc(moment: datetime | str) -> datetime:
    """A timezone-aware datetime; a naive one (or an ISO string without offset) is UTC."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@external
def gate(opens_at: datetime):
    """Opens when the clock reaches the given time."""
    opens_at = as_utc(opens_at)
    yield f"Time gate {opens_at.isoformat(sep=' ')}"
    yield Asset(opens_at, lambda: datetime.now(timezone.utc) >= opens_at)


@task
def stamped_file(path: Path, opens_at: datetime):
    """A file written only once the time gate has opened."""
    path = Path(path)
    yield f"Stamp {path}"
    yield Asset(path, path.is_file)
    yield gate(opens_at)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"written at {datetime.now(timezone.utc).isoformat(timespec='seconds')}\n")


def main(argv: list[str] | None = None) -> int:
    """Run the gated task until the file is there (or only once with --once)."""
    parser = argparse.ArgumentParser(description="Write a file, but not before a given time.")
    parser.add_argument("dir", nargs="?", help="where to write the file (default: a temp dir)")
    when = parser.add_mutually_exclusive_group()
    when.add_argument("--at", help="opening time, ISO 8601 (UTC unless an offset is given)")
    when.add_argument("--in", dest="delay", type=float, default=3.0, help="seconds from now")
    parser.add_argument("--poll", type=float, default=1.0, help="seconds between runs")
    parser.add_argument("--once", action="store_true", help="run once; exit 1 if still shut")
    args = parser.parse_args(argv)
    try:
        opens_at = as_utc(args.at) if args.at else datetime.now(timezone.utc)
    except ValueError as err:
        parser.error(f"--at: {err}")
    if not args.at:
        # Whole seconds keep the task name short.
        opens_at = (opens_at + timedelta(seconds=args.delay)).replace(microsecond=0)
    path = Path(args.dir or tempfile.mkdtemp(prefix="timegate-")) / FILENAME
    logcfg()
    while True:
        root = stamped_file(path, opens_at)
        if root.ready:
            print(f"{path}: {path.read_text().strip()}", flush=True)
            return 0
        left = (opens_at - datetime.now(timezone.utc)).total_seconds()
        if args.once:
            print(f"The gate opens in {max(left, 0):.0f}s; run again then.", flush=True)
            return 1
        print(f"The gate opens in {max(left, 0):.0f}s; next run in {args.poll:g}s.", flush=True)
        time.sleep(args.poll)


if __name__ == "__main__":
    sys.exit(main())
