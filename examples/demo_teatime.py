"""The teatime workflow from start to finish, one run at a time.

Runs ``examples/teatime.py`` again and again in subprocesses, as a person (or a cron job) would,
and changes the world in between: buys the box of tea bags, waits for the tea to steep, takes
the sugar out, empties the cup. After each run it checks the files against what the run should
have done and prints the directory tree at the interesting points.

    python examples/demo_teatime.py          # in a fresh temporary directory, removed afterwards
    python examples/demo_teatime.py DIR      # in DIR, which must be empty or not exist yet

The demo takes about half a minute, most of it waiting for the tea to steep. It exits 0 when
every step did what it should, 1 otherwise.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent
REPO = EXAMPLES.parent
TEATIME = EXAMPLES / "teatime.py"

# The runs below use this checkout of tasktronaut, installed or not; so does this import.
sys.path[:0] = [str(EXAMPLES), str(REPO)]
from teatime import STEEP_SECONDS  # noqa: E402  (the examples folder is not a package)


class Demo:
    """Runs the steps in one base directory and remembers what did not go as expected."""

    def __init__(self, name: str, cwd: Path) -> None:
        self.name = name  # the base directory as given to teatime.py, relative to cwd
        self.basedir = cwd / name
        self.cwd = cwd
        self.step = 0
        self.problems: list[str] = []

    def header(self, text: str) -> None:
        """Print the title of the next step."""
        self.step += 1
        print(f"\n==> Step {self.step}: {text}", flush=True)

    def run(self, expected_status: int, taskname: str | None = None) -> None:
        """Run the workflow once, show its log and check its exit status."""
        command = [sys.executable, str(TEATIME), self.name, *([taskname] if taskname else [])]
        shown = " ".join(["python", os.path.relpath(TEATIME, REPO), *command[2:]])
        print(f"$ {shown}", flush=True)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        done = subprocess.run(
            command,
            cwd=self.cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            check=False,
        )
        print(done.stdout, end="", flush=True)
        print(f"(exit status {done.returncode})", flush=True)
        if done.returncode != expected_status:
            self.problem(f"exit status {done.returncode}, expected {expected_status}")

    def expect(self, present: tuple[str, ...] = (), absent: tuple[str, ...] = ()) -> None:
        """Check which entries of the base directory exist."""
        for rel in present:
            if not (self.basedir / rel).exists():
                self.problem(f"{rel} should exist but does not")
        for rel in absent:
            if (self.basedir / rel).exists():
                self.problem(f"{rel} should not exist but does")

    def problem(self, text: str) -> None:
        """Record (and show) something that did not go as expected."""
        message = f"step {self.step}: {text}"
        print(f"!! {message}", flush=True)
        self.problems.append(message)

    def show_tree(self) -> None:
        """Print the base directory as a tree."""
        print(tree(self.basedir), flush=True)

    def wait_for_steeping(self) -> None:
        """Sleep until the tea has steeped, counted from when the water was poured."""
        water = self.basedir / "cup" / "water"
        if not water.exists():
            self.problem("there is no water in the cup, so no tea can steep")
            return
        left = water.stat().st_mtime + STEEP_SECONDS + 1 - time.time()
        if left > 0:
            print(f"Waiting {left:.0f}s for the tea to steep...", flush=True)
            time.sleep(left)


def tree(root: Path) -> str:
    """The directory below ``root`` drawn like the ``tree`` command does."""
    lines = [f"{root.name}/"]
    counts = {"dirs": 0, "files": 0}

    def walk(folder: Path, indent: str) -> None:
        entries = sorted(folder.iterdir(), key=lambda entry: entry.name)
        for i, entry in enumerate(entries):
            last = i == len(entries) - 1
            lines.append(f"{indent}{'└── ' if last else '├── '}{entry.name}")
            if entry.is_dir():
                counts["dirs"] += 1
                walk(entry, indent + ("    " if last else "│   "))
            else:
                counts["files"] += 1

    if root.is_dir():
        walk(root, "")
    dirs, files = counts["dirs"], counts["files"]
    lines.append(
        f"\n{dirs} director{'y' if dirs == 1 else 'ies'}, {files} file{'' if files == 1 else 's'}"
    )
    return "\n".join(lines)


def demo(name: str, cwd: Path) -> int:
    """All the steps, on base directory ``name`` under ``cwd``; returns the exit status."""
    d = Demo(name, cwd)
    basedir = d.basedir
    cup = ("cup/tea-bag", "cup/water", "cup/sugar")

    d.header("first run: the cup and spoon are fetched, but there is no box of tea bags")
    d.run(expected_status=1)
    d.expect(present=("cup", "spoon"), absent=("box-of-tea-bags", *cup))
    d.show_tree()

    d.header("buy a box of tea bags (the external asset the workflow cannot create)")
    (basedir / "box-of-tea-bags").touch()
    print(f"$ touch {Path(name, 'box-of-tea-bags')}", flush=True)
    d.show_tree()

    d.header("run again: tea bag in, water poured, and the tea starts to steep")
    d.run(expected_status=1)
    d.expect(present=("cup/tea-bag", "cup/water"), absent=("cup/sugar",))
    d.show_tree()

    d.header("a few seconds later: the tea is still steeping, and says how long is left")
    time.sleep(3)
    d.run(expected_status=1)
    d.expect(absent=("cup/sugar",))

    d.header("wait for the tea to steep")
    d.wait_for_steeping()

    d.header("run again: the sugar goes in and the cup of tea is ready")
    d.run(expected_status=0)
    d.expect(present=("box-of-tea-bags", "spoon", *cup))
    d.show_tree()

    d.header("run again: everything is ready, nothing is done")
    d.run(expected_status=0)

    d.header("take the sugar out of the cup, then run: the workflow puts it back")
    (basedir / "cup" / "sugar").unlink(missing_ok=True)
    print(f"$ rm {Path(name, 'cup', 'sugar')}", flush=True)
    d.show_tree()
    d.run(expected_status=0)
    d.expect(present=cup)
    d.show_tree()

    d.header("empty the cup and ask only for steeped_tea: tea without sugar")
    for ingredient in cup:
        (basedir / ingredient).unlink(missing_ok=True)
    print(f"$ rm {Path(name, 'cup')}/*", flush=True)
    d.show_tree()
    d.run(expected_status=1, taskname="steeped_tea")
    d.expect(present=("cup/tea-bag", "cup/water"), absent=("cup/sugar",))

    d.header("wait for the tea to steep, then run steeped_tea again")
    d.wait_for_steeping()
    d.run(expected_status=0, taskname="steeped_tea")
    d.expect(present=("cup/tea-bag", "cup/water"), absent=("cup/sugar",))
    d.show_tree()

    if d.problems:
        print(f"\nThe demo did not go as expected ({len(d.problems)} problem(s)):")
        for problem in d.problems:
            print(f"  - {problem}")
        return 1
    print("\nThe demo went as expected: a perfect cup of tea, and a cup without sugar.")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Pick the base directory and run the demo in it."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1 or (args and args[0] in ("-h", "--help")):
        print("usage: demo_teatime.py [DIR]", file=sys.stderr)
        return 2
    if args:
        basedir = Path(args[0])
        if basedir.exists() and (not basedir.is_dir() or any(basedir.iterdir())):
            print(
                f"demo_teatime.py: {basedir} must be an empty directory or not exist",
                file=sys.stderr,
            )
            return 2
        return demo(args[0], Path.cwd())
    with tempfile.TemporaryDirectory(prefix="tasktronaut-demo-") as tmp:
        # Run from inside the temporary directory so that log lines show a short "teatime/...".
        return demo("teatime", Path(tmp))


if __name__ == "__main__":
    sys.exit(main())
