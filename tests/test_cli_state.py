"""The command line and durable state: --state/--resume, `state list|show|forget`, and the
exit statuses of a run stopped by a signal."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from tasktronaut.cli import cli

FLOW = textwrap.dedent(
    """
    import time
    from pathlib import Path
    from tasktronaut import ProcessDefinition

    class Steps(ProcessDefinition):
        \"\"\"Two steps that leave marks in a folder.\"\"\"

        def define_process(self, builder):
            builder.expected_arguments(folder=str)
            builder.task(self.first)
            builder.task(self.second)

        def first(self, folder):
            with open(Path(folder) / "ran.log", "a") as f:
                f.write("first\\n")
            return 1

        def second(self, folder):
            if (Path(folder) / "broken").exists():
                raise RuntimeError("second is broken")
            if (Path(folder) / "slow").exists():
                (Path(folder) / "started").touch()
                while not (Path(folder) / "go").exists():
                    time.sleep(0.01)
            with open(Path(folder) / "ran.log", "a") as f:
                f.write("second\\n")
            return 2
    """
)


@pytest.fixture
def flow(tmp_path: Path) -> Path:
    path = tmp_path / "flow.py"
    path.write_text(FLOW)
    return path


def _run(runner: CliRunner, *args: str):
    return runner.invoke(cli, list(args), catch_exceptions=False)


def test_resume_records_steps_and_a_rerun_does_only_the_rest(flow, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    target = f"{flow}:Steps"
    (tmp_path / "broken").touch()
    first = _run(runner, "run", target, "--arg", f"folder={tmp_path}", "--id", "job", "--resume")
    assert first.exit_code == 1
    (tmp_path / "broken").unlink()
    second = _run(runner, "run", target, "--arg", f"folder={tmp_path}", "--id", "job",
                  "--resume")
    assert second.exit_code == 0, second.output
    assert (tmp_path / "ran.log").read_text().split() == ["first", "second"]
    assert (tmp_path / ".tasktronaut" / "state.db").exists()

    listed = _run(runner, "state", "list")
    assert listed.exit_code == 0
    assert listed.output.split()[:3] == ["job", "3", "step(s)"]
    shown = _run(runner, "state", "show", "job")
    assert "Steps.first: 1" in shown.output
    assert "Steps.second: 2" in shown.output

    forgot = _run(runner, "state", "forget", "job", "Steps.second")
    assert forgot.output.strip() == "Forgot 1 record(s) of 'Steps.second' of 'job'"
    again = _run(runner, "run", target, "--arg", f"folder={tmp_path}", "--id", "job",
                 "--resume")
    assert again.exit_code == 0
    assert (tmp_path / "ran.log").read_text().split() == ["first", "second", "second"]


def test_state_without_an_identifier_is_one_line_and_exit_2(flow, tmp_path):
    result = CliRunner().invoke(cli, ["run", f"{flow}:Steps", "--arg", f"folder={tmp_path}",
                                      "--state", str(tmp_path / "s.db")])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len([line for line in lines if line.startswith("Error:")]) == 1
    assert "identifier" in result.output


def test_state_commands_report_a_missing_file_on_one_line(tmp_path):
    result = CliRunner().invoke(cli, ["state", "list", "--state", str(tmp_path / "none.db")])
    assert result.exit_code == 2
    assert result.output.strip() == f"Error: no state file at {tmp_path / 'none.db'}"


def _console() -> str:
    script = shutil.which("tasktronaut", path=os.path.dirname(sys.executable))
    assert script is not None, "the console script is not installed"
    return script


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_run_stopped_by_a_signal_exits_128_plus_its_number(flow, tmp_path, sig, status):
    (tmp_path / "slow").touch()
    proc = subprocess.Popen(
        [_console(), "run", f"{flow}:Steps", "--arg", f"folder={tmp_path}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    while not (tmp_path / "started").exists():
        assert proc.poll() is None, proc.communicate()
        threading.Event().wait(0.01)  # a file appearing cannot be awaited directly
    proc.send_signal(sig)
    assert proc.stderr is not None
    for line in proc.stderr:
        if "Interrupted by" in line:
            break
    (tmp_path / "go").touch()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == status, err
    assert "Traceback" not in err
