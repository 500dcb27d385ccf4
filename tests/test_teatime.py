"""The tea demo across invocations, as a user runs it, and the other asset-task examples.

Each invocation is a fresh subprocess (as on the command line); steeping is made to be over by
moving the water file's modification time into the past, so no test waits for the clock.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
STAMP = re.compile(r"^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\] ")


def tea(basedir: Path, task: str | None = None) -> tuple[int, list[str]]:
    """Run the tea workflow once; return the exit status and the log lines without stamps."""
    args = [sys.executable, str(EXAMPLES / "teatime.py"), str(basedir)]
    done = subprocess.run(args + ([task] if task else []), capture_output=True, text=True,
                          timeout=120)
    return done.returncode, [STAMP.sub("", line) for line in done.stderr.splitlines()]


def files(basedir: Path) -> list[str]:
    return sorted(str(p.relative_to(basedir)) for p in basedir.rglob("*"))


def steeped(basedir: Path) -> None:
    """Pretend the water was poured a minute ago."""
    water = basedir / "cup" / "water"
    past = time.time() - 60
    os.utime(water, (past, past))


def test_the_tea_story_across_invocations(tmp_path):
    base = tmp_path / "teatime"
    box = f"Box of tea bags ({base / 'box-of-tea-bags'})"

    status, log = tea(base)
    assert status == 1
    assert log[:3] == ["INFO    The cup: Executing", "INFO    The cup: Getting cup",
                       "INFO    The cup: Ready"]
    assert f"WARNING {box}: Not ready [external asset]" in log
    assert f"WARNING Tea bag in cup: ✖ {box}" in log
    assert "WARNING The perfect cup of tea: ✖ Sugar in cup" in log
    assert "WARNING The perfect cup of tea: ✔ The spoon" in log
    assert files(base) == ["cup", "spoon"]

    (base / "box-of-tea-bags").touch()
    status, log = tea(base)
    assert status == 1
    assert not any("The cup" in line or "The spoon" in line for line in log)
    assert "INFO    Tea bag in cup: Adding tea bag to cup" in log
    assert "INFO    Boiling water in cup: Adding water to cup" in log
    assert any(re.fullmatch(r"WARNING Steeped tea: Tea needs to steep for \d+s", line)
               for line in log)
    assert files(base) == ["box-of-tea-bags", "cup", "cup/tea-bag", "cup/water", "spoon"]

    steeped(base)
    status, log = tea(base)
    assert status == 0
    assert log == ["INFO    Sugar in cup: Executing", "INFO    Sugar in cup: Adding sugar to cup",
                   "INFO    Sugar in cup: Ready", "INFO    The perfect cup of tea: Ready"]

    status, log = tea(base)
    assert (status, log) == (0, ["INFO    The perfect cup of tea: Ready"])

    (base / "cup" / "sugar").unlink()
    status, log = tea(base)
    assert status == 0
    assert log[:3] == ["INFO    Sugar in cup: Executing",
                       "INFO    Sugar in cup: Adding sugar to cup", "INFO    Sugar in cup: Ready"]
    assert "cup/sugar" in files(base)

    for path in (base / "cup").iterdir():
        path.unlink()
    status, log = tea(base, "steeped_tea")
    assert status == 1
    assert "WARNING Steeped tea: ✔ Boiling water in cup" in log
    steeped(base)
    status, log = tea(base, "steeped_tea")
    assert (status, log) == (0, ["INFO    Steeped tea: Ready"])
    assert "cup/sugar" not in files(base)


def test_the_tea_graph_is_dot_with_readiness_colours(tmp_path):
    sys.path.insert(0, str(EXAMPLES))
    try:
        import teatime
    finally:
        sys.path.remove(str(EXAMPLES))
    dot = teatime.a_cup_of_tea.build(str(tmp_path)).graph
    assert dot.startswith("digraph g {")
    assert 'label="The perfect cup of tea"' in dot
    assert "fillcolor=orange" in dot


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["30"], ["F(30) = 832040"]),
        (["--naive", "20", "21"], ["F(20) = 6765", "F(21) = 10946"]),
        (["--naive", "20", "21", "-p", "2"], ["F(20) = 6765", "F(21) = 10946"]),
    ],
)
def test_the_fibonacci_example(args, expected):
    done = subprocess.run([sys.executable, str(EXAMPLES / "fibonacci.py"), *args],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[: len(expected)] == expected


def test_the_time_gate_example_waits_for_its_moment(tmp_path):
    shut = subprocess.run(
        [sys.executable, str(EXAMPLES / "timegate.py"), "--at", "2999-01-01T00:00:00",
         "--once", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )
    assert shut.returncode == 1
    assert "Not ready [external asset]" in shut.stderr
    opened = subprocess.run(
        [sys.executable, str(EXAMPLES / "timegate.py"), "--at", "2000-01-01T00:00:00",
         "--once", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )
    assert opened.returncode == 0, opened.stderr
    assert (tmp_path / "stamp").exists()
