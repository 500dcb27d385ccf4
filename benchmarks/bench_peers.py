"""The performance table: tasktronaut now, its 0.1.0 baseline, the targets, and the peers.

Every figure of tasktronaut is measured beside iotaa 1.8.1 (and, for two threads, Dask's
threaded and synchronous schedulers) in the same run, on the same no-op graphs. Each engine
runs in a fresh interpreter of its own (``peer_run.py``); the engines take turns within each
round, and the best of the rounds is kept. The "baseline" column is not measured: it holds
the figures issue 12 reported for tasktronaut 0.1.0, whose source is not in this repository.

A second table compares ``threads=2`` with ``threads=1`` (issue 10's target: within 3x).
Start-up and command-line figures come from ``peer_startup.py``.

Run ``python benchmarks/bench_peers.py`` (part of ``make bench``); ``--quick`` for one round.
See ``benchmarks/README.md`` for what each row measures and how to read it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_JSON = HERE / "results_peers.json"
TT, IOTAA, DASK_THR, DASK_SYNC = "tasktronaut", "iotaa", "dask-threaded", "dask-sync"
FANOUT_N, CHAIN_N, LAYERS = 20_000, 10_000, 20
EACH_STEPS, POOL_SMALL, POOL_LARGE = 20_000, 400, 3_200
JOB_TIMEOUT_S = 300
# Workloads that take a few milliseconds are timed this many times per interpreter (the best
# is kept), so that one unlucky moment of a loaded machine does not decide the round.
SHORT_REPEATS = {"layered": 3}


@dataclass(frozen=True)
class Job:
    """One engine on one workload: run in its own interpreter once per round."""

    engine: str
    workload: str
    size: int
    threads: int = 1

    @property
    def key(self) -> str:
        return f"{self.engine} {self.workload} {self.size} t{self.threads}"


def _two_threads(workload: str, size: int) -> list[Job]:
    return [
        Job(TT, workload, size, 2),
        Job(IOTAA, workload, size, 2),
        Job(DASK_THR, workload, size, 2),
        Job(DASK_SYNC, workload, size, 1),
    ]


# Jobs of a group take turns within a round; the order rotates from round to round, so no
# engine always runs first (or right after the heaviest one).
GROUPS: list[list[Job]] = [
    [Job(TT, "fan-out", FANOUT_N), Job(IOTAA, "fan-out", FANOUT_N)],
    [Job(TT, "layered", LAYERS), Job(IOTAA, "layered", LAYERS)],
    [Job(TT, "chain", CHAIN_N), Job(IOTAA, "chain", CHAIN_N)],
    _two_threads("fan-out", FANOUT_N),
    _two_threads("layered", LAYERS),
    _two_threads("chain", CHAIN_N),
    [Job(TT, "process-each", EACH_STEPS)],
    [Job(TT, "process-pool", POOL_SMALL, 2), Job(TT, "process-pool", POOL_LARGE, 2)],
]
MEMORY_JOBS = [Job(TT, "fan-out", FANOUT_N), Job(IOTAA, "fan-out", FANOUT_N)]


# --------------------------------------------------------------------------------------------
# Running the engines


def run_job(job: Job, *, repeats: int = 1, memory: bool = False) -> dict[str, Any]:
    """Run ``job`` in a fresh interpreter (``peer_run.py``) and return its JSON result."""
    argv = [sys.executable, str(HERE / "peer_run.py"), job.engine, job.workload,
            "--size", str(job.size), "--threads", str(job.threads), "--repeats", str(repeats)]
    if memory:
        argv.append("--memory")
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=JOB_TIMEOUT_S,
                              check=False)
    except subprocess.TimeoutExpired:
        return {"walls_s": [], "error": f"timed out after {JOB_TIMEOUT_S} s"}
    lines = proc.stdout.strip().splitlines()
    try:
        out: dict[str, Any] = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"walls_s": [], "error": f"exit {proc.returncode}: {tail}"}
    return out


def run_rounds(rounds: int, repeats: int) -> dict[str, dict[str, Any]]:
    """Every job once per round, groups in turn; keep every wall and the first error."""
    merged: dict[str, dict[str, Any]] = {}
    for r in range(rounds):
        for group in GROUPS:
            shift = r % len(group)
            for job in group[shift:] + group[:shift]:
                out = run_job(job, repeats=repeats * SHORT_REPEATS.get(job.workload, 1))
                _progress(f"round {r + 1}/{rounds}: {job.key}: {_walls(out)}")
                m = merged.setdefault(job.key, {"job": job.__dict__, "walls_s": [],
                                                "cpus_s": [], "units": None, "error": None})
                m["walls_s"] += out.get("walls_s", [])
                m["cpus_s"] += out.get("cpus_s", [])
                m["units"] = out.get("units", m["units"])
                m["error"] = m["error"] or out.get("error")
    for m in merged.values():
        if m["walls_s"] and m["units"]:
            m["wall_s"] = min(m["walls_s"])
            m["us_per_unit"] = m["wall_s"] / m["units"] * 1e6
            m["cpu_us_per_unit"] = min(m["cpus_s"]) / m["units"] * 1e6
    return merged


def run_memory() -> dict[str, dict[str, Any]]:
    """Peak traced memory per node of fan-out 20k, one untimed run per engine."""
    return {job.engine: run_job(job, repeats=0, memory=True) for job in MEMORY_JOBS}


def _walls(out: dict[str, Any]) -> str:
    if out.get("error"):
        return f"ERROR {out['error']}"
    return ", ".join(f"{w:.3f}" for w in out.get("walls_s", [])) + " s"


_VERBOSE = False


def _progress(message: str) -> None:
    if _VERBOSE:
        print(f"  {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# The table


@dataclass
class Row:
    """One workload of the table; its checks each take one line."""

    label: str
    baseline: str
    now: str
    iotaa: str = "-"
    dask_thr: str = "-"
    dask_sync: str = "-"
    checks: list[dict[str, Any]] | None = None
    notes: list[str] | None = None
    error: str | None = None


def check(metric: str, value: float | None, op: str, limit: float, shown: str,
          target: str) -> dict[str, Any]:
    """A target check: ``value op limit``; a missing value (an error) is a MISS."""
    ok = value is not None and (value <= limit if op == "<=" else value >= limit)
    return {"metric": metric, "value": value, "op": op, "limit": limit, "shown": shown,
            "target": target, "pass": ok}


COLUMNS = (("workload", 37), ("baseline 0.1.0 (issue)", 23), ("measured now", 19),
           ("target", 25), ("result", 6), ("iotaa 1.8.1", 18), ("Dask 2 thr", 10),
           ("Dask sync", 9))


def _line(cells: Sequence[str]) -> str:
    return "  ".join(f"{c:<{w}}" for c, (_, w) in zip(cells, COLUMNS, strict=True)).rstrip()


def format_rows(rows: list[Row]) -> list[str]:
    """One line per check; the first carries the workload, baseline and peers."""
    head = _line([name for name, _ in COLUMNS])
    lines = [head, "-" * len(head)]
    indent = " " * (sum(w + 2 for _, w in COLUMNS[:2]))
    for row in rows:
        checks = row.checks or [check("", None, "<=", 0, "-", "(information)")]
        for i, c in enumerate(checks):
            first = i == 0
            result = "PASS" if c["pass"] else ("MISS" if c["metric"] else "")
            lines.append(_line([
                row.label if first else "", row.baseline if first else "",
                row.now if first else c["shown"], c["target"], result,
                row.iotaa if first else "", row.dask_thr if first else "",
                row.dask_sync if first else "",
            ]))
        lines += [f"{indent}{note}" for note in row.notes or []]
        if row.error:
            lines.append(f"{indent}ERROR: {row.error}")
    return lines


def _us(res: dict[str, Any], engine: str, workload: str, size: int, threads: int = 1):
    m = res.get(Job(engine, workload, size, threads).key, {})
    return m.get("us_per_unit")


def cpu_note(res: dict[str, Any], *jobs: Job) -> str:
    """The best process CPU time per node of each job: less sensitive to a loaded machine."""
    cells = []
    for job in jobs:
        cpu = res.get(job.key, {}).get("cpu_us_per_unit")
        cells.append(f"{job.engine} {_f(cpu, 'µs', 2)}")
    return "CPU time per node (all threads): " + ", ".join(cells)


def _err(res: dict[str, Any], *jobs: Job) -> str | None:
    errors = [f"{j.key}: {res[j.key]['error']}" for j in jobs
              if j.key in res and res[j.key].get("error")]
    return "; ".join(errors) or None


def _f(value: float | None, unit: str = "µs/task", digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f} {unit}".rstrip()


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def one_thread_row(res: dict[str, Any], workload: str, size: int, label: str, baseline: str,
                   limit: float) -> Row:
    now, peer = _us(res, TT, workload, size), _us(res, IOTAA, workload, size)
    faster = _ratio(peer, now)
    return Row(label, baseline, _f(now), iotaa=_f(peer), checks=[
        check("µs/task", now, "<=", limit, _f(now), f"<= {limit:g} µs/task"),
        check("iotaa / now", faster, ">=", 12, _x(faster, "faster"), ">= 12x faster than iotaa"),
    ], notes=[cpu_note(res, Job(TT, workload, size), Job(IOTAA, workload, size))],
        error=_err(res, Job(TT, workload, size), Job(IOTAA, workload, size)))


def _x(value: float | None, word: str = "") -> str:
    return "-" if value is None else f"{value:.2f}x {word}".rstrip()


def two_thread_row(res: dict[str, Any], workload: str, size: int, label: str,
                   baseline: str, peers_target: bool) -> Row:
    now, one = _us(res, TT, workload, size, 2), _us(res, TT, workload, size)
    peer, thr = _us(res, IOTAA, workload, size, 2), _us(res, DASK_THR, workload, size, 2)
    sync = _us(res, DASK_SYNC, workload, size)
    checks = [check("2 threads / 1 thread", _ratio(now, one), "<=", 3,
                    _x(_ratio(now, one), "of 1 thread"), "<= 3x the 1-thread figure")]
    if peers_target:
        checks += [
            check("iotaa / now", _ratio(peer, now), ">=", 4, _x(_ratio(peer, now), "faster"),
                  ">= 4x faster than iotaa"),
            check("Dask threaded / now", _ratio(thr, now), ">=", 4,
                  _x(_ratio(thr, now), "faster"), ">= 4x faster than Dask"),
        ]
    else:
        checks.append(check("", None, "<=", 0, _x(_ratio(peer, now), "faster"),
                            "(than iotaa; no target)"))
    jobs = [*_two_threads(workload, size), Job(TT, workload, size)]
    return Row(label, baseline, _f(now), iotaa=_f(peer), dask_thr=_f(thr, "µs", 1),
               dask_sync=_f(sync, "µs", 1), checks=checks, notes=[cpu_note(res, *jobs[:4])],
               error=_err(res, *jobs))


def process_rows(res: dict[str, Any]) -> list[Row]:
    each = _us(res, TT, "process-each", EACH_STEPS)
    peer = _us(res, IOTAA, "fan-out", FANOUT_N)
    rows = [Row("process `each` step, build+run, 20k", "≈ 17 µs/step",
                _f(each, "µs/step"), iotaa=_f(peer) + "*", checks=[
                    check("µs/step", each, "<=", 5, _f(each, "µs/step"), "<= 5 µs/step")],
                notes=[f"* iotaa has no process definitions: its asset fan-out {FANOUT_N:,}, "
                       f"1 thread, per task; a step takes {_x(_ratio(each, peer))} an iotaa task",
                       cpu_note(res, Job(TT, "process-each", EACH_STEPS),
                                Job(IOTAA, "fan-out", FANOUT_N))],
                error=_err(res, Job(TT, "process-each", EACH_STEPS)))]
    small, large = (res.get(Job(TT, "process-pool", n, 2).key, {}) for n in
                    (POOL_SMALL, POOL_LARGE))
    ws, wl = small.get("wall_s"), large.get("wall_s")
    growth = _ratio(wl, ws)
    marginal = None if ws is None or wl is None else (wl - ws) / (POOL_LARGE - POOL_SMALL) * 1e6
    linear = POOL_LARGE / POOL_SMALL
    rows.append(Row(
        "process steps, 2 worker processes", "257 ms -> 7.9 s (30.7x)",
        f"{_f(ws, 's', 3)} -> {_f(wl, 's', 3)}", iotaa="n/a (no processes)", checks=[
            check("wall 3,200 / 400", growth, "<=", linear * 1.25, _x(growth),
                  f"linear (<= {linear * 1.25:g}x)"),
            check("marginal µs/step", marginal, "<=", 250, _f(marginal, "µs/step", 0),
                  "<= 250 µs/step"),
        ],
        notes=[f"{POOL_SMALL:,} -> {POOL_LARGE:,} no-op steps; linear = {linear:g}x the wall, "
               "quadratic = 64x; marginal = extra wall per extra step (pool start cancels out)",
               f"wall per step: {_f(small.get('us_per_unit'), 'µs', 0)} at {POOL_SMALL:,}, "
               f"{_f(large.get('us_per_unit'), 'µs', 0)} at {POOL_LARGE:,} (pool start "
               "included)"],
        error=_err(res, *(Job(TT, "process-pool", n, 2) for n in (POOL_SMALL, POOL_LARGE)))))
    return rows


def startup_rows(cli: dict[str, Any], imports: list[tuple[str, float]]) -> list[Row]:
    from peer_startup import USER_IMPORT

    bare = cli["bare interpreter"]["wall_s"]
    net = {n: cli[n]["wall_s"] - bare
           for n in ("import tasktronaut", "import iotaa", "import tasktronaut.cli")}
    ver, iver = cli["tasktronaut --version"]["wall_s"], cli["iotaa --version"]["wall_s"]
    tea, itea = cli["tasktronaut tea re-run"]["wall_s"], cli["iotaa tea re-run"]["wall_s"]
    errors = "; ".join(f"{n}: {m['error']}" for n, m in cli.items() if m["error"]) or None
    heavy = ", ".join(f"{p} {s * 1000:.0f} ms" for p, s in imports)
    return [
        Row("`import tasktronaut`", "0.17-0.45 s", _f(net["import tasktronaut"], "s", 3),
            iotaa=_f(net["import iotaa"], "s", 3), checks=[
                check("import s", net["import tasktronaut"], "<=", 0.1,
                      _f(net["import tasktronaut"], "s", 3), "<= 0.1 s")],
            notes=[f"wall of `python -c '{USER_IMPORT}'`",
                   "minus the bare interpreter's "
                   f"({bare:.3f} s)", f"heaviest imports (-X importtime): {heavy or '-'}"]),
        Row("`tasktronaut --version`", "≈ 1 s", _f(ver, "s", 3), iotaa=_f(iver, "s", 3),
            checks=[check("--version s", ver, "<=", 0.25, _f(ver, "s", 3), "<= 0.25 s")],
            notes=["wall of the console script, interpreter start-up included"]),
        Row("re-run of the finished tea demo (CLI)", "0.92 s (3.5x iotaa)", _f(tea, "s", 3),
            iotaa=_f(itea, "s", 3), checks=[
                check("tea / iotaa", _ratio(tea, itea), "<=", 1.0, _x(_ratio(tea, itea),
                      "iotaa"), "<= iotaa (1x)")],
            notes=["`tasktronaut run examples/teatime.py:a_cup_of_tea DIR` vs "
                   "`iotaa iotaa.demo a_cup_of_tea DIR`, DIR finished",
                   f"of which importing tasktronaut.cli: {net['import tasktronaut.cli']:.3f} s, "
                   f"the bare interpreter: {bare:.3f} s"], error=errors),
    ]


def memory_row(mem: dict[str, dict[str, Any]]) -> Row:
    now, peer = mem[TT].get("bytes_per_unit"), mem[IOTAA].get("bytes_per_unit")
    errors = "; ".join(f"{e}: {m['error']}" for e, m in mem.items() if m.get("error")) or None
    return Row("memory per node (fan-out 20k)", "1.1-1.4 KB", _f(now, "B/node", 0),
               iotaa=_f(peer, "B/node", 0), checks=[
                   check("B/node", now, "<=", 1024, _f(now, "B/node", 0), "<= 1 KB (1,024 B)")],
               notes=["peak traced memory of one untimed run / nodes; includes the "
                      "benchmark's own done set and closures (~250-300 B/node)"], error=errors)


def build_rows(res: dict[str, Any], cli: dict[str, Any], imports: list[tuple[str, float]],
               mem: dict[str, Any]) -> list[Row]:
    return [
        one_thread_row(res, "fan-out", FANOUT_N, "fan-out 20k, 1 thread", "≈ 5 µs/task", 3),
        one_thread_row(res, "layered", LAYERS, "layered 20x100, 1 thread", "≈ 11 µs/task", 6),
        two_thread_row(res, "fan-out", FANOUT_N, "fan-out 20k, 2 threads", "30-170 µs/task",
                       True),
        two_thread_row(res, "layered", LAYERS, "layered 20x100, 2 threads", "30-170 µs/task",
                       True),
        two_thread_row(res, "chain", CHAIN_N, "chain 10k, 2 threads", "47-330 µs/task", False),
        *process_rows(res),
        *startup_rows(cli, imports),
        memory_row(mem),
    ]


def threads_table(res: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    """threads=2 against threads=1, tasktronaut (target <= 3x) and iotaa (information).

    The CPU ratio (CPU time of all threads, 2 threads over 1) is information: the extra work
    the threads cost, without the time spent waiting for a core on a busy machine.
    """
    head = (f"{'workload':<16} {'1 thread':>10} {'2 threads':>10} {'ratio':>6} {'target':>6} "
            f"{'result':>6}  {'CPU ratio':>9}   iotaa 1 / 2 threads (ratio)")
    lines, out = [head, "-" * len(head)], []
    for workload, size, label in (("fan-out", FANOUT_N, "fan-out 20k"),
                                  ("layered", LAYERS, "layered 20x100"),
                                  ("chain", CHAIN_N, "chain 10k")):
        one, two = _us(res, TT, workload, size), _us(res, TT, workload, size, 2)
        i1, i2 = _us(res, IOTAA, workload, size), _us(res, IOTAA, workload, size, 2)
        cpu = _ratio(*(res.get(Job(TT, workload, size, t).key, {}).get("cpu_us_per_unit")
                       for t in (2, 1)))
        ratio = _ratio(two, one)
        c = check("2 threads / 1 thread", ratio, "<=", 3, _x(ratio), "<= 3x")
        out.append({"workload": label, "us_1_thread": one, "us_2_threads": two, "ratio": ratio,
                    "cpu_ratio": cpu, "iotaa_us_1_thread": i1, "iotaa_us_2_threads": i2,
                    "check": c})
        lines.append(f"{label:<16} {_f(one, 'µs'):>10} {_f(two, 'µs'):>10} {_x(ratio):>6} "
                     f"{'<= 3x':>6} {'PASS' if c['pass'] else 'MISS':>6}  {_x(cpu):>9}   "
                     f"{_f(i1, 'µs', 1)} / {_f(i2, 'µs', 1)} ({_x(_ratio(i2, i1))})")
    return lines, out


# --------------------------------------------------------------------------------------------
# Command line


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="one round and 3 command-line repeats instead of 3 and 7")
    p.add_argument("--rounds", type=int, help="rounds of the engine workloads (best kept)")
    p.add_argument("--json", type=Path, default=DEFAULT_JSON, metavar="PATH",
                   help=f"where to write the JSON results (default: {DEFAULT_JSON})")
    p.add_argument("-v", "--verbose", action="store_true", help="progress on stderr")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    global _VERBOSE
    import tempfile

    from bench_engine import environment
    from peer_startup import import_breakdown, run_cli

    args = parse_args(argv)
    _VERBOSE = args.verbose
    rounds = args.rounds or (1 if args.quick else 3)
    started = time.perf_counter()
    env = environment()
    env["iotaa"] = _version("iotaa")
    env["dask"] = _version("dask")
    if env["iotaa"] is None:
        print("bench_peers.py: iotaa is not installed; run `make bench`, or "
              "`pip install -r benchmarks/requirements.txt`", file=sys.stderr)
        return 2
    res = run_rounds(rounds, repeats=1)
    mem = run_memory()
    with tempfile.TemporaryDirectory() as base:
        cli = run_cli(3 if args.quick else 7, Path(base))
    _progress("command line: " + ", ".join(f"{n} {m['wall_s']:.3f} s" for n, m in cli.items()))
    rows = build_rows(res, cli, import_breakdown(), mem)
    tlines, tthreads = threads_table(res)
    print(f"Python {env['python']} on {env['platform']}; {env['cpu_count']} cores; "
          f"tasktronaut {env['tasktronaut']} (source {env['source_digest']}); "
          f"iotaa {env['iotaa']}; Dask {env['dask']}")
    print(f"No-op tasks; every engine in its own interpreter; best of {rounds} interleaved "
          "round(s); no log sink. Baseline: tasktronaut 0.1.0 as reported in issue 12, "
          "not re-measured.\n")
    print("\n".join(format_rows(rows)))
    checks = [c for r in rows for c in r.checks or [] if c["metric"]]
    print(f"\n{sum(c['pass'] for c in checks)}/{len(checks)} targets met\n")
    print("threads=2 against threads=1 (issue 10: within 3x)\n" + "\n".join(tlines))
    elapsed = time.perf_counter() - started
    write_json(args.json, env, rounds, rows, tthreads, res, mem, cli, elapsed)
    print(f"\n{elapsed:.0f} s; JSON results written to {args.json}")
    return 1 if any(r.error for r in rows) else 0


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def write_json(path: Path, env: dict[str, Any], rounds: int, rows: list[Row],
               threads: list[dict[str, Any]], res: dict[str, Any], mem: dict[str, Any],
               cli: dict[str, Any], elapsed: float) -> None:
    checks = [c for r in rows for c in r.checks or [] if c["metric"]]
    doc = {
        "environment": env,
        "settings": {"rounds": rounds, "elapsed_s": elapsed},
        "table": [r.__dict__ for r in rows],
        "threads_2_vs_1": threads,
        "jobs": res,
        "memory": mem,
        "command_line": cli,
        "passed": sum(c["pass"] for c in checks),
        "checks": len(checks),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
