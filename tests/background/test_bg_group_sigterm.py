"""SIGTERM to the whole process group (systemd, ``kill -TERM -PGID``, a container stop)
means what SIGTERM to the driver means: start nothing new, let running steps finish."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from bg_flows import ROOT, until

FLOW = textwrap.dedent(
    """
    import time
    from pathlib import Path
    from tasktronaut import ExecutionMode, ProcessDefinition

    class Pair(ProcessDefinition):
        process_execution_mode = ExecutionMode.CONCURRENT

        def define_process(self, builder):
            builder.expected_arguments(folder=str)
            builder.task(self.left)
            builder.task(self.right)

        def _work(self, folder, name):
            work = Path(folder)
            (work / f"{name}-started").touch()
            while not (work / "go").exists():
                time.sleep(0.02)
            (work / f"{name}-done").touch()

        def left(self, folder):
            self._work(folder, "left")

        def right(self, folder):
            self._work(folder, "right")
    """
)


def test_group_sigterm_lets_steps_in_worker_processes_finish(tmp_path: Path) -> None:
    (tmp_path / "flow.py").write_text(FLOW)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tasktronaut", "run", f"{tmp_path / 'flow.py'}:Pair", "--arg",
         f"folder={tmp_path}", "-p", "2", "-t", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    until(lambda: all((tmp_path / f"{n}-started").exists() for n in ("left", "right")),
          timeout=60, what="both steps to start in worker processes")
    assert proc.poll() is None
    os.killpg(proc.pid, signal.SIGTERM)
    assert proc.stderr is not None
    for line in proc.stderr:
        if "Interrupted by SIGTERM" in line:
            break
    (tmp_path / "go").touch()
    _, err = proc.communicate(timeout=60)
    assert "exit code -15" not in err
    assert (tmp_path / "left-done").exists()
    assert (tmp_path / "right-done").exists()
    assert proc.returncode == 128 + signal.SIGTERM, err
