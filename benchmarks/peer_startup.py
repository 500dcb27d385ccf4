"""Start-up and command-line figures for ``bench_peers.py``: wall times of short commands.

``import tasktronaut`` and ``import iotaa`` against the bare interpreter, both console
scripts' ``--version``, and both CLIs re-running the finished tea demo, which the two
projects ship with the same files. The commands take turns in every round; the first round
is untimed (it writes the ``.pyc`` files); the best wall of each is kept.

The commands run without ``PYTHONDONTWRITEBYTECODE``: set, it would keep the first round from
writing tasktronaut's ``.pyc`` files (an editable install gets them only that way), and every
round would compile tasktronaut's modules while iotaa's, compiled when pip installed it, load
from theirs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
USER_IMPORT = "from tasktronaut import Asset, ProcessDefinition, task"
"""What "import tasktronaut" times: ``import tasktronaut`` alone loads only the version (every
public name loads on first use), so the row imports what a workflow module imports."""


def bytecode_env() -> dict[str, str]:
    """This environment, with Python allowed to write ``.pyc`` files."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def tea_dir(base: Path) -> Path:
    """A finished cup of tea (both demos use the same files): every asset is ready."""
    folder = base / "tea"
    (folder / "cup").mkdir(parents=True, exist_ok=True)
    for name in ("box-of-tea-bags", "cup/tea-bag", "cup/water", "cup/sugar", "spoon"):
        (folder / name).touch()
    an_hour_ago = time.time() - 3600  # the tea steeped long ago
    os.utime(folder / "cup" / "water", (an_hour_ago, an_hour_ago))
    return folder


def cli_commands(tea: Path) -> dict[str, list[str]]:
    """The commands whose wall time is measured, each with the interpreter of this venv."""
    py, bindir = sys.executable, Path(sys.executable).parent
    example = HERE.parent / "examples" / "teatime.py"
    return {
        "bare interpreter": [py, "-c", "pass"],
        "import tasktronaut": [py, "-c", USER_IMPORT],
        "import iotaa": [py, "-c", "import iotaa"],
        "import tasktronaut.cli": [py, "-c", "import tasktronaut.cli"],
        "tasktronaut --version": [str(bindir / "tasktronaut"), "--version"],
        "iotaa --version": [str(bindir / "iotaa"), "--version"],
        "tasktronaut tea re-run": [str(bindir / "tasktronaut"), "run",
                                   f"{example}:a_cup_of_tea", str(tea)],
        "iotaa tea re-run": [str(bindir / "iotaa"), "iotaa.demo", "a_cup_of_tea", str(tea)],
    }


def _tea_problem(name: str, proc: subprocess.CompletedProcess[str]) -> str | None:
    """A tea re-run must find the cup ready and run nothing."""
    if proc.returncode != 0:
        return f"exit status {proc.returncode}"
    if "The perfect cup of tea: Ready" not in proc.stderr:
        return "the cup was not reported ready"
    if name.startswith("tasktronaut") and "0 run" not in proc.stderr:
        return "something ran on the re-run"
    return None


def run_cli(repeats: int, base: Path) -> dict[str, dict[str, Any]]:
    """Wall time of each command, ``repeats`` interleaved rounds after one untimed run."""
    commands = cli_commands(tea_dir(base))
    out: dict[str, dict[str, Any]] = {n: {"argv": a, "walls_s": [], "error": None}
                                      for n, a in commands.items()}
    for r in range(repeats + 1):
        for name, argv in commands.items():
            start = time.perf_counter()
            proc = subprocess.run(argv, capture_output=True, text=True, check=False,
                                  env=bytecode_env())
            wall = time.perf_counter() - start
            error = _tea_problem(name, proc) if "tea" in name else (
                None if proc.returncode == 0 else f"exit status {proc.returncode}")
            out[name]["error"] = out[name]["error"] or error
            if r:  # the first round warms the file caches and writes the .pyc files
                out[name]["walls_s"].append(wall)
    for m in out.values():
        m["wall_s"] = min(m["walls_s"])
    return out


def import_breakdown(top: int = 5) -> list[tuple[str, float]]:
    """The packages that :data:`USER_IMPORT` pulls in, by cumulative import time (s).

    From ``python -X importtime``: each module imported by a tasktronaut module that is not
    part of tasktronaut counts with its cumulative time, summed per top-level package.
    """
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", USER_IMPORT],
                          capture_output=True, text=True, check=False, env=bytecode_env())
    entries = []  # (depth, name, cumulative µs) in the order printed: children first
    for line in proc.stderr.splitlines():
        parts = line.split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2].rstrip()
        depth = (len(name) - len(name.lstrip())) // 2
        entries.append((depth, name.strip(), int(parts[1])))
    totals: dict[str, float] = {}
    stack: list[tuple[int, str]] = []
    for depth, name, cumulative in reversed(entries):  # parents before their children
        while stack and stack[-1][0] >= depth:
            stack.pop()
        parent = stack[-1][1] if stack else ""
        stack.append((depth, name))
        package = name.split(".")[0]
        if parent.split(".")[0] == "tasktronaut" and package != "tasktronaut":
            totals[package] = totals.get(package, 0.0) + cumulative / 1e6
    return sorted(totals.items(), key=lambda kv: -kv[1])[:top]
