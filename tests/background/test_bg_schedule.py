"""Schedules: every N seconds, cron and once, fired once each however many workers look."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from bg_flows import Once, lines

from tasktronaut import ArgumentError
from tasktronaut.background import FakeClock, SQLiteQueue, Status, Worker, schedule
from tasktronaut.background import schedules as schedules_module


def _ids(db: Path) -> list[str]:
    queue = SQLiteQueue(db)
    try:
        return [r.id for r in queue.runs()]
    finally:
        queue.close()


def test_every_second_fires_once_per_second_across_two_workers(tmp_path: Path) -> None:
    db, out = tmp_path / "state.db", str(tmp_path / "out")
    clock = FakeClock(datetime(2030, 1, 1, 12, 0, 0).astimezone())
    schedule(Once, name="tick", every=1, state=db, clock=clock, out=out, pause=0.0)
    workers = [Worker(db, clock=clock, poll=0.01) for _ in range(2)]
    for _ in range(10):
        clock.advance(1)
        for worker in workers:
            worker.tick()
    for worker in workers:
        worker.run(until_idle=True)
    expected = [f"tick@2030-01-01T12:00:{s:02d}" for s in range(1, 11)]
    assert _ids(db) == expected
    assert sorted(lines(out)) == expected  # each fire ran once
    assert workers[0].completed + workers[1].completed == 10


def test_many_workers_at_the_same_moment_fire_once(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    clock = FakeClock(1_900_000_000)
    schedule(Once, name="race", every=60, state=db, clock=clock, out="x", pause=0.0)
    queues = [SQLiteQueue(db) for _ in range(4)]
    clock.advance(60)
    fired: list[str] = []
    start = threading.Barrier(len(queues))

    def fire(queue: SQLiteQueue) -> None:
        start.wait()
        for _ in range(20):
            fired.extend(schedules_module.fire_due(queue, clock.now()))

    threads = [threading.Thread(target=fire, args=(q,)) for q in queues]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for q in queues:
        q.close()
    assert len(fired) == 1
    assert _ids(db) == fired


def test_cron_with_a_fake_clock_and_missed_fires(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    clock = FakeClock(datetime(2030, 3, 1, 1, 59, 0).astimezone())
    schedule(Once, name="nightly", cron="0 2 * * *", state=db, clock=clock, out="x",
             pause=0.0)
    schedule(Once, name="backfill", cron="0 2 * * *", catch_up=True, state=db, clock=clock,
             out="x", pause=0.0)
    queue = SQLiteQueue(db)
    assert schedules_module.fire_due(queue, clock.now()) == []
    clock.advance(60)
    assert sorted(schedules_module.fire_due(queue, clock.now())) == [
        "backfill@2030-03-01T02:00:00", "nightly@2030-03-01T02:00:00"]
    clock.set(datetime(2030, 3, 4, 9, 0, 0).astimezone())  # three nights without a worker
    fired = schedules_module.fire_due(queue, clock.now())
    assert sorted(f for f in fired if f.startswith("nightly")) == [
        "nightly@2030-03-04T02:00:00"]  # only the latest missed fire
    assert sorted(f for f in fired if f.startswith("backfill")) == [
        f"backfill@2030-03-0{d}T02:00:00" for d in (2, 3, 4)]
    nightly = schedules_module.get(queue, "nightly")
    assert nightly is not None
    assert nightly.next_due == datetime(
        2030, 3, 5, 2, 0, 0).astimezone().timestamp()
    assert {r.schedule for r in queue.runs()} == {"nightly", "backfill"}
    queue.close()


def test_at_fires_once(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    when = datetime(2030, 5, 1, 8, 30).astimezone()
    clock = FakeClock(when - timedelta(minutes=1))
    schedule(Once, name="once", at=when, state=db, clock=clock, out="x", pause=0.0)
    queue = SQLiteQueue(db)
    clock.advance(120)
    assert schedules_module.fire_due(queue, clock.now()) == ["once@2030-05-01T08:30:00"]
    clock.advance(3600)
    assert schedules_module.fire_due(queue, clock.now()) == []
    found = schedules_module.get(queue, "once")
    assert found is not None
    assert found.next_due is None
    assert queue.get("once@2030-05-01T08:30:00").status is Status.QUEUED  # type: ignore[union-attr]
    queue.close()


def test_bad_schedules_are_refused(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    with pytest.raises(ArgumentError,
                       match="exactly one of every=, cron= and at=, got every, cron"):
        schedule(Once, every=5, cron="* * * * *", state=db, out="x", pause=0.0)
    with pytest.raises(ArgumentError, match="cron must be a cron expression"):
        schedule(Once, cron="every day", state=db, out="x", pause=0.0)
    with pytest.raises(ArgumentError, match="every must be a number of seconds > 0"):
        schedule(Once, every=0, state=db, out="x", pause=0.0)


def test_a_real_clock_schedule_runs_on_a_started_worker(tmp_path: Path) -> None:
    db, out = tmp_path / "state.db", str(tmp_path / "out")
    schedule(Once, name="soon", every=0.2, state=db, out=out, pause=0.0)
    workers = [Worker(db, poll=0.02).start() for _ in range(2)]
    try:
        deadline = threading.Event()
        deadline.wait(1.5)
    finally:
        for w in workers:
            w.stop()
    ran = lines(out)
    assert 2 <= len(ran) <= 9
    assert len(ran) == len(set(ran))
