"""Processes and helpers that the background tests submit and that workers import by path."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tasktronaut import Builder, Context, ProcessDefinition, task

HERE = Path(__file__).resolve()
ROOT = HERE.parents[2]


def target(name: str) -> str:
    """The target name of a definition in this file, as a worker elsewhere finds it."""
    return f"{HERE}:{name}"


def append(path: str, line: str) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(line + "\n")


def lines(path: str | os.PathLike[str]) -> list[str]:
    p = Path(path)
    return p.read_text(encoding="utf-8").splitlines() if p.exists() else []


class Appender(ProcessDefinition):
    """``steps`` steps, one after another; each waits ``pause`` s, then appends its name."""

    def define_process(self, builder: Builder) -> None:
        builder.expected_arguments(out=str, steps=int, pause=float)
        self._out = builder.kwargs["out"]
        for i in range(builder.kwargs["steps"]):
            builder.task(functools.partial(self.step, i=i), f"step-{i}")

    def step(self, out: str, pause: float, context: Context, i: int) -> int:
        time.sleep(pause)
        append(out, f"{context.identifier} step-{i}")
        return i

    def on_cancelled(self, identifier: str | None) -> None:
        out = getattr(self, "_out", None)
        if out:
            append(out, f"{identifier} cancelled")
        super().on_cancelled(identifier)


class Once(ProcessDefinition):
    """One step that appends the run's identifier to ``out``."""

    def define_process(self, builder: Builder) -> None:
        builder.expected_arguments(out=str, pause=float)
        builder.task(self.mark)

    def mark(self, out: str, pause: float, context: Context) -> str:
        time.sleep(pause)
        append(out, str(context.identifier))
        return str(context.identifier)


class Failing(ProcessDefinition):
    def define_process(self, builder: Builder) -> None:
        builder.task(self.boom)

    def boom(self) -> None:
        raise ValueError("no luck")


@task
def touched(path: str) -> Any:
    """An asset task: the file at ``path`` exists."""
    from tasktronaut import Asset

    yield f"touched {path}"
    yield Asset(path, lambda: Path(path).exists())
    yield None
    Path(path).write_text("done\n", encoding="utf-8")


def worker_process(state: Path, *extra: str, **popen: Any) -> subprocess.Popen[str]:
    """``tasktronaut worker`` in a process of its own (its stderr piped)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tasktronaut", "worker", "--state", str(state), "--poll",
         "0.1", *extra], env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
        text=True, **popen)


def until(condition: Any, timeout: float = 20.0, what: str = "condition") -> None:
    """Wait until ``condition()`` is true (polling), failing after ``timeout`` seconds."""
    due = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > due:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
