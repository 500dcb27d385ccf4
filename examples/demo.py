"""The whole story: tea made with asset tasks, then a process watched, failing and resumed.

1. The teatime demo (``demo_teatime.py``): asset tasks, run again and again as the world
   changes, each run doing only what is not done yet.
2. ``examples/nightly.py`` run through the ``tasktronaut`` command, with the live display on
   a terminal (plain lines elsewhere): a step fails, and the summary says which and what it
   blocks. Once the cause is fixed, a run with the same ``--id`` and ``--state`` resumes at
   the failed step. Each run writes an HTML report; the last one is written again from the
   state file with ``tasktronaut report``.

    python examples/demo.py            # the reports go to build/demo/
    python examples/demo.py DIR        # or to DIR (created; must be empty or new)

Exits 0 when every step did what it should, 1 otherwise.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent
REPO = EXAMPLES.parent
NIGHTLY = "examples/nightly.py:Nightly"


def tasktronaut(*args: str, expected: int) -> bool:
    """Run the command as a user would (output straight to the terminal); check its status."""
    print(f"\n$ tasktronaut {' '.join(args)}", flush=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    code = subprocess.run([sys.executable, "-m", "tasktronaut", *args], cwd=REPO, env=env,
                          check=False).returncode
    print(f"(exit status {code})", flush=True)
    if code != expected:
        print(f"!! expected exit status {expected}", flush=True)
    return code == expected


def header(text: str) -> None:
    print(f"\n==> {text}", flush=True)


def watched_process(out: Path) -> bool:
    """Part 2: the nightly process fails, is fixed, resumes; reports along the way."""
    folder = os.path.relpath(out, REPO)
    common = ["--arg", f"folder={folder}", "--id", "nightly", "--state", f"{folder}/state.db",
              "-t", "3"]
    header("A process run through the command line: the warehouse is closed, publishing fails")
    ok = tasktronaut("run", NIGHTLY, *common, "--report", f"{folder}/first-run.html", expected=1)
    header("Open the warehouse; the same --id and --state resume at the failed step")
    (out / "warehouse-open").touch()
    ok &= tasktronaut("run", NIGHTLY, *common, "--report", f"{folder}/second-run.html",
                      expected=0)
    ok &= (out / "published").exists()
    header("The last run's report, written again from the state file")
    ok &= tasktronaut("report", "--state", f"{folder}/state.db", "--id", "nightly", "-o",
                      f"{folder}/report.html", expected=0)
    for name in ("first-run.html", "second-run.html", "report.html"):
        print(f"Run report: {(out / name).as_uri()}")
    return ok


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]).resolve() if args else REPO / "build" / "demo"
    if out.exists() and not args:
        shutil.rmtree(out)
    if out.exists() and any(out.iterdir()):
        print(f"{out} is not empty", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    header("Part 1: a cup of tea, made with asset tasks")
    tea = subprocess.run([sys.executable, str(EXAMPLES / "demo_teatime.py")], check=False)
    header("Part 2: a process, watched")
    ok = watched_process(out) and tea.returncode == 0
    print("\nThe demo " + ("did what it should." if ok else "did NOT do what it should."))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
