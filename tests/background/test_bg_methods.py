"""The background API as methods: Definition.submit / .schedule and node.submit."""

from __future__ import annotations

from pathlib import Path

from bg_flows import Appender, lines

from tasktronaut.background import Status, Worker
from tasktronaut.background.schedules import FakeClock


def test_a_definition_submits_and_a_worker_runs_it(tmp_path: Path) -> None:
    db, out = tmp_path / "state.db", str(tmp_path / "out")
    handle = Appender.submit("m1", state=db, out=out, steps=2, pause=0.0)
    assert handle.id == "m1"
    assert handle.status() is Status.QUEUED
    worker = Worker(db, poll=0.05).start()
    try:
        assert handle.wait(timeout=30) is Status.SUCCEEDED
    finally:
        worker.stop()
    assert lines(out) == ["m1 step-0", "m1 step-1"]


def test_a_built_graph_submits_itself(tmp_path: Path) -> None:
    db, out = tmp_path / "state.db", str(tmp_path / "out")
    handle = Appender.build("m2", out=out, steps=1, pause=0.0).submit(state=db)
    worker = Worker(db, poll=0.05).start()
    try:
        assert handle.wait(timeout=30) is Status.SUCCEEDED
    finally:
        worker.stop()
    assert lines(out) == ["m2 step-0"]


def test_a_definition_schedules_itself(tmp_path: Path) -> None:
    db, out = tmp_path / "state.db", str(tmp_path / "out")
    clock = FakeClock(1_000.0)
    made = Appender.schedule(every=60, state=db, clock=clock, out=out, steps=1, pause=0.0)
    assert made.every == 60
