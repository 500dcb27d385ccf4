"""The RQ backend against a real redis-server: the embedded queue's suite, through RQ."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bg_flows import ROOT, Appender, Failing, Once, lines, target, until
from bg_redis import redis_url
from click.testing import CliRunner

from tasktronaut.background import RunHandle, Status, submit
from tasktronaut.cli.commands import cli

__all__ = ["redis_url"]


def _rq_worker(url: str, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "tasktronaut", "worker", "--rq", url,
                             *extra], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def test_submit_returns_at_once_and_an_rq_worker_runs_it(redis_url: str,
                                                         tmp_path: Path) -> None:
    out = str(tmp_path / "out")
    timings = []
    for i in range(5):
        start = time.perf_counter()
        handle = submit(Appender, backend=redis_url, identifier=f"r{i}", out=out, steps=2,
                        pause=0.3)
        timings.append(time.perf_counter() - start)
    print(f"RQ submit latency: median {statistics.median(timings) * 1000:.1f} ms")
    assert statistics.median(timings) < 0.5
    assert handle.status() is Status.QUEUED
    assert _rq_worker(redis_url, "--burst").wait(120) == 0
    assert handle.wait(10) is Status.SUCCEEDED
    assert handle.steps["step-1"] == 1
    assert handle.record is not None
    assert handle.record.identifier == "r4"
    assert handle.record.ready
    assert sorted(lines(out)) == sorted(f"r{i} step-{s}" for i in range(5) for s in range(2))
    status = CliRunner().invoke(cli, ["status", "r4", "--rq", redis_url])
    assert status.exit_code == 0
    assert status.stdout.startswith("r4  succeeded")
    assert "  done: step-1\n" in status.stdout


def test_two_rq_workers_share_twenty_runs_and_each_runs_once(redis_url: str,
                                                             tmp_path: Path) -> None:
    out = str(tmp_path / "out")
    ids = [submit(Once, backend=redis_url, out=out, pause=0.05).id for _ in range(20)]
    workers = [_rq_worker(redis_url, "--burst") for _ in range(2)]
    for proc in workers:
        assert proc.wait(120) == 0
    assert sorted(lines(out)) == sorted(ids)


def test_a_failure_is_reported_with_its_reason(redis_url: str) -> None:
    handle = submit(Failing, backend=redis_url, identifier="bad")
    assert _rq_worker(redis_url, "--burst").wait(120) == 0
    assert handle.wait(10) is Status.FAILED
    assert "no luck" in (handle.info.error or "")


def test_cancel_from_another_process_through_rq(redis_url: str, tmp_path: Path) -> None:
    out = str(tmp_path / "out")
    handle = submit(Appender, backend=redis_url, identifier="rc", out=out, steps=30,
                    pause=0.1)
    worker = _rq_worker(redis_url)
    try:
        until(lambda: len(lines(out)) >= 1, timeout=60, what="a first step")
        done = subprocess.run(
            [sys.executable, "-m", "tasktronaut", "cancel", "rc", "--rq", redis_url],
            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        assert RunHandle(handle.backend, "rc").wait(30) is Status.CANCELLED
    finally:
        worker.terminate()
        worker.wait(30)
    found = lines(out)
    assert "rc cancelled" in found
    assert len(found) < 31


def test_cancelling_a_queued_rq_run(redis_url: str) -> None:
    handle = submit(Once, backend=redis_url, out="never", pause=0.0)
    assert handle.cancel() is Status.CANCELLED


def test_the_command_line_through_rq(redis_url: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    runner = CliRunner()
    submitted = runner.invoke(cli, ["submit", target("Once"), "--arg", f"out={out}", "--arg",
                                    "pause=0", "--id", "cli1", "--rq", redis_url])
    assert (submitted.exit_code, submitted.stdout) == (0, "cli1\n")
    assert _rq_worker(redis_url, "--burst").wait(120) == 0
    waited = runner.invoke(cli, ["wait", "cli1", "--timeout", "30", "--rq", redis_url])
    assert waited.exit_code == 0
    assert waited.stdout.startswith("cli1  succeeded")
    assert lines(out) == ["cli1"]
