"""State-store benchmarks: what recording completions costs, and what a full re-run costs.

A sequential process of N no-op steps is run five ways, N = 1,000 and 5,000 (``--quick``:
200 and 1,000):

* ``none``: ``root.run()``, no state store (today's default; the reference);
* ``memory``: ``root.run(state=MemoryStore())``;
* ``sqlite-full``: ``root.run(state=<tmp>/full.db)``, a SQLite file with the default
  ``synchronous=FULL`` (one transaction and one fsync of the WAL per completion);
* ``sqlite-normal``: ``root.run(state=SQLiteStore(<tmp>/normal.db, synchronous="NORMAL"))``;
* ``rerun``: the same process, with an identifier whose every step is recorded as done in
  ``full.db``, run again with ``state=<tmp>/full.db``: nothing runs, the store is read once.

Each of the first four uses a fresh identifier per repeat. The table gives steps per second,
µs per step, the recording overhead per step over ``none``, and, for ``rerun``, how many times
faster per step it is than running. The state files live in a temporary directory (under
``/tmp`` unless ``TMPDIR`` or ``--tmp`` says otherwise) that is removed at the end.

Run ``python benchmarks/bench_state.py``; see ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # running from a checkout without an installed package
    sys.path.insert(1, str(HERE.parent))

from bench_engine import environment, measure, quiet_logging  # noqa: E402

from tasktronaut import Builder, MemoryStore, NodeStatus, ProcessDefinition, SQLiteStore  # noqa: E402

DEFAULT_JSON = HERE / "results_state.json"
SIZES = (1_000, 5_000)
QUICK_SIZES = (200, 1_000)
REPEATS = 3
# The re-run of a fully recorded process must be at least this many times faster per step
# than running the process.
TARGET_RERUN_SPEEDUP = 10.0

WORKLOADS = ("none", "memory", "sqlite-full", "sqlite-normal", "rerun")
LABELS = {
    "none": "(a) no state store",
    "memory": "(b) MemoryStore",
    "sqlite-full": "(c) SQLite path, FULL",
    "sqlite-normal": "(d) SQLite NORMAL",
    "rerun": "(e) re-run, all recorded",
}


# --------------------------------------------------------------------------------------------
# The process


class Counter:
    """How many step actions ran."""

    __slots__ = ("actions",)

    def __init__(self) -> None:
        self.actions = 0


def steps_process(counter: Counter) -> type[ProcessDefinition]:
    """A fresh ProcessDefinition of ``n`` sequential no-op steps named ``Steps.work(i=...)``.

    Each step returns None, so what is recorded per step is the JSON ``null``; the process
    node itself records the dict of all the step results once, at the end.
    """

    class Steps(ProcessDefinition):  # sequential, the default
        def define_process(self, builder: Builder) -> None:
            builder.expected_arguments(n=int)
            for item in builder.each(self.items):
                item.task(self.work)

        def items(self, n: int):
            for i in range(n):
                yield {"i": i}

        def work(self, i: int) -> None:
            counter.actions += 1

    return Steps


class CountingStore(SQLiteStore):
    """A SQLite store that counts reads (``completed``) and writes (``record``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.reads = 0
        self.writes = 0
        super().__init__(*args, **kwargs)

    def completed(self, process_id: str) -> dict[str, Any]:
        self.reads += 1
        return super().completed(process_id)

    def record(self, process_id: str, step: str, result: Any) -> None:
        self.writes += 1
        super().record(process_id, step, result)


def recorded(path: Path, identifier: str) -> int:
    """How many completions ``path`` holds for ``identifier``."""
    with SQLiteStore(path) as store:
        return len(store.completed(identifier))


# --------------------------------------------------------------------------------------------
# Measuring


def _run_check(root: Any, counter: Counter, n: int, count: Callable[[], int] | None):
    def check() -> str | None:
        if not root.ready:
            return f"the process did not end up ready ({counter.actions}/{n} steps ran)"
        if counter.actions != n:
            return f"{counter.actions} steps ran, expected {n}"
        if count is not None and (got := count()) != n + 1:
            return f"{got} completions recorded, expected {n + 1} (the steps and the process)"
        return None

    return check


def running(workload: str, n: int, folder: Path, repeats: int) -> dict[str, Any]:
    """Rows (a) to (d): build (untimed), then time ``root.run(state=...)``."""
    path = folder / ("full.db" if workload == "sqlite-full" else "normal.db")
    if workload.startswith("sqlite"):
        SQLiteStore(path).close()  # the file and its schema exist before the first repeat
    builds: list[float] = []
    serial = iter(range(1, repeats + 2))

    def trial():
        counter = Counter()
        identifier = f"{workload}-{n}-{next(serial)}"
        start = time.perf_counter()
        root = steps_process(counter).build(identifier, n=n)
        builds.append(time.perf_counter() - start)
        if workload == "none":

            def timed():
                root.run()
                return _run_check(root, counter, n, None)

        elif workload == "memory":
            store = MemoryStore()

            def timed():
                root.run(state=store)
                return _run_check(root, counter, n, lambda: len(store.completed(identifier)))

        elif workload == "sqlite-full":

            def timed():
                root.run(state=path)  # opened, used and closed by the run
                count = lambda: recorded(path, identifier)  # noqa: E731
                return _run_check(root, counter, n, count)

        else:

            def timed():
                with SQLiteStore(path, synchronous="NORMAL") as store:
                    root.run(state=store)
                count = lambda: recorded(path, identifier)  # noqa: E731
                return _run_check(root, counter, n, count)

        return timed

    m = measure(trial, nodes=n, repeats=repeats, memory=False)
    r = _row(workload, n, m)
    r["build_us_per_step"] = min(builds) / n * 1e6
    if workload.startswith("sqlite"):
        r["store_file"] = path.name
        r["open_close_ms"] = open_close_ms(path, workload == "sqlite-full")
    return r


def open_close_ms(path: Path, full: bool, repeats: int = 20) -> float:
    """Best time to open and close the store on the existing file, in ms (a per-run cost)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        SQLiteStore(path, synchronous="FULL" if full else "NORMAL").close()
        best = min(best, time.perf_counter() - start)
    return best * 1e3


def rerun(n: int, folder: Path, repeats: int) -> dict[str, Any]:
    """Row (e): every step of the identifier is recorded; time ``root.run(state=path)``."""
    path = folder / "full.db"
    identifier = f"rerun-{n}"
    first = steps_process(Counter()).build(identifier, n=n).run(state=path)  # untimed setup
    builds: list[float] = []

    def trial():
        counter = Counter()
        start = time.perf_counter()
        root = steps_process(counter).build(identifier, n=n)
        builds.append(time.perf_counter() - start)

        def timed():
            root.run(state=path)

            def check() -> str | None:
                if counter.actions:
                    return f"{counter.actions} steps ran, expected none"
                if root.status is not NodeStatus.ALREADY_READY or not root.ready:
                    return f"the process was not restored as done (status {root.status.name})"
                if not isinstance(root.ref, dict) or len(root.ref) != n:
                    return "the results of the recorded steps are not all readable"
                return None

            return check

        return timed

    m = measure(trial, nodes=n, repeats=repeats, memory=False)
    if not first.ready and not m["error"]:
        m["error"] = "the setup run that records every step did not end up ready"
    r = _row("rerun", n, m)
    r["build_us_per_step"] = min(builds) / n * 1e6
    r["store_file"] = path.name
    # Untimed: the same re-run through a store that counts its reads and writes.
    counter = Counter()
    with CountingStore(path) as store:
        steps_process(counter).build(identifier, n=n).run(state=store)
    r["store_reads"], r["store_writes"] = store.reads, store.writes
    if not r["error"] and (store.reads, store.writes, counter.actions) != (1, 0, 0):
        r["error"] = (
            f"expected 1 read, 0 writes and no step run; got {store.reads} read(s), "
            f"{store.writes} write(s), {counter.actions} step(s) run"
        )
    return r


def _row(workload: str, n: int, m: dict[str, Any]) -> dict[str, Any]:
    return {
        "workload": workload,
        "label": f"{LABELS[workload]} N={n:,}",
        "n": n,
        "steps": n,
        "repeats": m["repeats"],
        "wall_s": m["wall_s"],
        "walls_s": m["walls_s"],
        "us_per_step": m["us_per_node"],
        "steps_per_s": n / m["wall_s"] if m["wall_s"] else None,
        "gc_s": m["gc_s"],
        "checks": [],
        "error": m["error"],
    }


def _check(r: dict[str, Any], metric: str, value: float | None, limit: float) -> None:
    passed = value is not None and not r.get("error") and value >= limit
    r["checks"].append(
        {"metric": metric, "value": value, "op": ">=", "limit": limit, "unit": "x",
         "pass": passed}
    )


def compare(results: list[dict[str, Any]]) -> None:
    """Overheads over (a) for rows (b)-(d); speed-ups of (e) over (a) and (c), same N."""
    by = {(r["workload"], r["n"]): r for r in results}
    for r in results:
        base = by.get(("none", r["n"]))
        ok = base is not None and not base.get("error") and not r.get("error")
        if r["workload"] in ("memory", "sqlite-full", "sqlite-normal"):
            r["over_none_us"] = r["us_per_step"] - base["us_per_step"] if ok else None
        elif r["workload"] == "rerun":
            full = by.get(("sqlite-full", r["n"]))
            r["speedup_vs_none"] = base["us_per_step"] / r["us_per_step"] if ok else None
            r["speedup_vs_full"] = (
                full["us_per_step"] / r["us_per_step"]
                if full is not None and not full.get("error") and not r.get("error")
                else None
            )
            _check(r, "speed-up vs (a)", r["speedup_vs_none"], TARGET_RERUN_SPEEDUP)
            _check(r, "speed-up vs (c)", r["speedup_vs_full"], TARGET_RERUN_SPEEDUP)


def run_suite(sizes: Sequence[int], repeats: int, folder: Path) -> list[dict[str, Any]]:
    quiet_logging()
    # Warm-up, untimed: imports, code paths and the page cache of the interpreter.
    steps_process(Counter()).build("warm-up", n=200).run(state=MemoryStore())
    results: list[dict[str, Any]] = []
    for n in sizes:
        for workload in WORKLOADS:
            if workload == "rerun":
                r = rerun(n, folder, repeats)
            else:
                r = running(workload, n, folder, repeats)
            results.append(r)
            _progress(r)
    compare(results)
    return results


# --------------------------------------------------------------------------------------------
# Output


_VERBOSE = False


def _progress(r: dict[str, Any]) -> None:
    if _VERBOSE:
        print(f"  done: {r['label']}: {r['wall_s']:.4f} s", file=sys.stderr, flush=True)


def filesystem(folder: Path) -> str:
    """The file system type and device ``folder`` is on (Linux), or ``unknown``."""
    target = str(folder.resolve())
    best = ("", "unknown", "")
    try:
        with open("/proc/mounts", encoding="utf-8") as f:
            for line in f:
                device, mount, kind = line.split()[:3]
                inside = target == mount or target.startswith(mount.rstrip("/") + "/")
                if inside and len(mount) >= len(best[0]):
                    best = (mount, kind, device)
    except OSError:
        return "unknown"
    return f"{best[1]} on {best[2]}" if best[0] else "unknown"


def journal_mode(path: Path) -> str | None:
    if not path.exists():
        return None
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        conn.close()


def _notes(r: dict[str, Any]) -> list[str]:
    notes = []
    w = r["workload"]
    if w == "none":
        notes.append("the reference: nothing recorded")
    if w in ("sqlite-full", "sqlite-normal"):
        ms = r["open_close_ms"]
        notes.append(
            f"of which opening and closing the store: {ms:.2f} ms per run "
            f"({ms * 1e3 / r['n']:.2f} µs/step at this N)"
        )
    if w == "rerun":
        notes.append(
            f"nothing ran; store read {r['store_reads']} time(s), written "
            f"{r['store_writes']} time(s) (counted in an untimed re-run)"
        )
    notes.append(f"building the process, untimed: {r['build_us_per_step']:.2f} µs/step")
    notes.append("repeats: " + ", ".join(f"{x:.4f}" for x in r["walls_s"]) + " s")
    return notes


def _right(r: dict[str, Any]) -> list[str]:
    w = r["workload"]
    if w == "none":
        return [f"{'(reference)':<18} {'-':>12} {'-':>8} {'-':>6}"]
    if w != "rerun":
        over = r.get("over_none_us")
        shown = "-" if over is None else f"{over:+.2f} µs"
        return [f"{'µs/step over (a)':<18} {shown:>12} {'-':>8} {'-':>6}"]
    rows = []
    for c in r["checks"]:
        shown = "-" if c["value"] is None else f"{c['value']:,.1f}x"
        target = f"{c['op']} {c['limit']:g}x"
        rows.append(
            f"{c['metric']:<18} {shown:>12} {target:>8} {'PASS' if c['pass'] else 'MISS':>6}"
        )
    return rows


def format_table(results: list[dict[str, Any]], env: dict[str, Any], where: str) -> str:
    lines = [
        f"Python {env['python']} ({env['implementation']}) on {env['platform']}; "
        f"{env['cpu_count']} cores ({env['cpus_usable']} usable); tasktronaut "
        f"{env['tasktronaut']} (source {env['source_digest']})",
        f"State files in a temporary directory on {where}. One thread; no log sink; "
        "best wall of the repeats; build untimed.",
        "",
    ]
    head = (
        f"{'workload':<34} {'steps':>6} {'rep':>3} {'wall s':>8} {'steps/s':>9} "
        f"{'µs/step':>8} | {'check':<18} {'measured':>12} {'target':>8} {'result':>6}"
    )
    blank = " " * (34 + 1 + 6 + 1 + 3 + 1 + 8 + 1 + 9 + 1 + 8)
    lines += [head, "-" * len(head)]
    for r in results:
        left = (
            f"{r['label']:<34} {r['steps']:>6,} {r['repeats']:>3} {r['wall_s']:>8.4f} "
            f"{r['steps_per_s']:>9,.0f} {r['us_per_step']:>8.2f}"
        )
        for i, row in enumerate(_right(r)):
            lines.append(f"{left if i == 0 else blank} | {row}")
        for note in _notes(r):
            lines.append(f"{blank} |   {note}")
        if r.get("error"):
            lines.append(f"{blank} |   ERROR: {r['error']}")
    checks = [c for r in results for c in r["checks"]]
    lines.append("-" * len(head))
    lines.append(f"{sum(c['pass'] for c in checks)}/{len(checks)} checks passed")
    return "\n".join(lines)


def write_json(path: Path, results: list[dict[str, Any]], env: dict[str, Any], **meta: Any) -> None:
    checks = [c for r in results for c in r["checks"]]
    doc = {
        "environment": env,
        "settings": meta,
        "targets": {"rerun_speedup": TARGET_RERUN_SPEEDUP},
        "results": results,
        "passed": sum(c["pass"] for c in checks),
        "checks": len(checks),
        "all_pass": all(c["pass"] for c in checks),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------------------------
# Command line


def main(argv: Sequence[str] | None = None) -> int:
    global _VERBOSE
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help=f"smaller sizes: N = {', '.join(f'{n:,}' for n in QUICK_SIZES)}")
    p.add_argument("--repeats", type=int, default=REPEATS,
                   help="repeats per row, the best is kept (default: %(default)s)")
    p.add_argument("--json", type=Path, default=DEFAULT_JSON, metavar="PATH",
                   help=f"where to write the JSON results (default: {DEFAULT_JSON})")
    p.add_argument("--tmp", type=Path, default=None, metavar="DIR",
                   help="where to create the temporary directory of the state files "
                   "(default: the system's, usually /tmp)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="print progress to stderr as each row finishes")
    args = p.parse_args(argv)
    if args.repeats < 1:
        p.error("--repeats must be at least 1")
    _VERBOSE = args.verbose
    quiet_logging()
    env = environment()
    sizes = QUICK_SIZES if args.quick else SIZES
    with tempfile.TemporaryDirectory(prefix="tasktronaut-bench-state-", dir=args.tmp) as tmp:
        folder = Path(tmp)
        where = filesystem(folder)
        results = run_suite(sizes, args.repeats, folder)
        mode = journal_mode(folder / "full.db")
    print(format_table(results, env, where))
    write_json(
        args.json, results, env, quick=args.quick, sizes=list(sizes), repeats=args.repeats,
        tmp_dir=str(args.tmp or tempfile.gettempdir()), filesystem=where, journal_mode=mode,
        threads=1, log_sink=None,
    )
    print(f"\nJSON results written to {args.json}")
    return 1 if any(r.get("error") for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
