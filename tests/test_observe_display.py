"""The live display on a terminal, checked through a pseudo-terminal; and off a terminal."""

import os
import pty
import re
import select
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytest.importorskip("rich")

REPO = Path(__file__).resolve().parent.parent
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

FLOW = textwrap.dedent('''
    import time

    from tasktronaut import ExecutionMode, ProcessDefinition


    class Many(ProcessDefinition):
        process_execution_mode = ExecutionMode.CONCURRENT

        def define_process(self, builder):
            for n in range(6):
                builder.task(self.work, description=f"step {n}")
            builder.task(self.broken)

        def work(self, context):
            for i in range(3):
                # One write per line: print()'s text and newline are two writes, which
                # threads printing at once may interleave (Python's doing, not ours).
                print(f"output of {context.step} line {i}\\n", end="", flush=True)
                time.sleep(0.03)

        def broken(self):
            print("output of the broken step\\n", end="", flush=True)
            raise ValueError("it broke")
''')


def run_in_terminal(args: list[str], cwd: Path, timeout: float = 60,
                    stdout: object = None) -> tuple[int, str]:
    """Run a command with a pseudo-terminal as stdin, stderr and (unless given) stdout;
    return all it wrote there."""
    master, slave = pty.openpty()
    env = dict(os.environ, TERM="xterm-256color", COLUMNS="120", LINES="40",
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    process = subprocess.Popen(args, stdin=slave, stdout=stdout or slave, stderr=slave, cwd=cwd,
                               env=env, close_fds=True)
    os.close(slave)
    chunks, deadline = [], time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # the terminal closed: the command is done
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
    return process.returncode, b"".join(chunks).decode("utf-8", "replace")


def pieces(output: str) -> list[str]:
    """What the terminal shows line by line: escape sequences removed, split at CR and LF."""
    return [p.strip() for p in re.split(r"[\r\n]", ANSI.sub("", output)) if p.strip()]


def test_step_output_is_printed_above_the_display_and_counts_match_the_summary(tmp_path):
    (tmp_path / "flow.py").write_text(FLOW)
    code, output = run_in_terminal(
        [sys.executable, "-m", "tasktronaut", "run", "flow.py:Many", "-t", "3"], tmp_path)
    assert code == 1, output
    shown = pieces(output)
    expected = [f"output of step {n} line {i}" for n in range(6) for i in range(3)]
    expected.append("output of the broken step")
    for line in expected:
        assert line in shown, f"{line!r} was not shown on a line of its own"
    # Never through the display: no piece holds both the display and a step's output.
    assert not [p for p in shown if "output of" in p and ("done," in p or "Running:" in p)]
    assert any(re.search(r"━.* \d+/7 done, 0 failed, \d running", p) for p in shown)
    final = [p for p in shown if re.search(r"\d+/7 done", p)][-1]
    assert "7/7 done, 1 failed, 0 running" in final  # the last state drawn: all accounted for
    summary = next(p for p in shown if "Summary: " in p)
    assert summary.endswith("Summary: 6 run, 0 already ready, 1 not ready, 1 failed")
    assert any(p.endswith("Failed: Many.broken: it broke") for p in shown)


def test_step_output_redirected_to_a_file_stays_in_the_file(tmp_path):
    (tmp_path / "flow.py").write_text(FLOW)
    with (tmp_path / "out.txt").open("w") as out:
        code, output = run_in_terminal(
            [sys.executable, "-m", "tasktronaut", "run", "flow.py:Many", "-t", "3"], tmp_path,
            stdout=out)
    assert code == 1
    assert "done," in ANSI.sub("", output)  # the display was on the terminal
    assert "output of" not in output
    written = (tmp_path / "out.txt").read_text().splitlines()
    assert sorted(written) == sorted([f"output of step {n} line {i}" for n in range(6)
                                      for i in range(3)] + ["output of the broken step"])


def test_off_a_terminal_there_are_only_plain_lines(tmp_path):
    (tmp_path / "flow.py").write_text(FLOW)
    done = subprocess.run(
        [sys.executable, "-m", "tasktronaut", "run", "flow.py:Many", "-t", "3"], cwd=tmp_path,
        capture_output=True, text=True, timeout=60, check=False,
        env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert done.returncode == 1
    assert "\x1b" not in done.stderr
    assert "━" not in done.stderr
    assert "Summary: 6 run" in done.stderr


def test_without_rich_the_one_line_progress_keeps_step_output_whole(tmp_path):
    (tmp_path / "flow.py").write_text(FLOW)
    no_rich = ("import sys; sys.modules['rich'] = None; sys.argv[0] = 'tasktronaut'; "
               "from tasktronaut.cli import main; main()")
    code, output = run_in_terminal(
        [sys.executable, "-c", no_rich, "run", "flow.py:Many", "-t", "3"], tmp_path)
    assert code == 1, output
    assert "━" not in output
    shown = pieces(output)
    for n in range(6):
        for i in range(3):
            assert f"output of step {n} line {i}" in shown
    assert not [p for p in shown if "output of" in p and "Progress:" in p]
    assert any(p.startswith("Progress: ") for p in shown)
    assert any(p.endswith("Summary: 6 run, 0 already ready, 1 not ready, 1 failed")
               for p in shown)
