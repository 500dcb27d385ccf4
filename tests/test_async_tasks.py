"""Asset tasks written as async generators: declared like any task, acting on the run's loop."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest

from tasktronaut import (
    ArgumentError,
    Asset,
    NodeStatus,
    TaskTimeoutError,
    collection,
    task,
)
from tasktronaut.errors import ProtocolError
from tasktronaut.model import traverse


@task
async def fetched(folder: Path, i: int):
    """A file written after an await."""
    path = folder / f"f{i}"
    yield f"fetched {i}"
    yield Asset(path, path.exists)
    yield None
    await asyncio.sleep(0.05)
    path.write_text(threading.current_thread().name)


@collection
def all_fetched(folder: Path, n: int):
    yield "all fetched"
    yield [fetched(folder, i) for i in range(n)]


def test_async_tasks_act_concurrently_on_one_loop(tmp_path):
    started = time.monotonic()
    root = all_fetched(tmp_path, 100)
    assert root.ready
    assert time.monotonic() - started < 3  # 100 x 50 ms one after another: 5 s
    assert {p.read_text() for p in tmp_path.iterdir()} == {"tasktronaut-async"}


def test_a_finished_async_task_does_not_run_again(tmp_path):
    all_fetched(tmp_path, 3)
    stamps = {p: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    root = all_fetched(tmp_path, 3)
    assert root.ready
    assert {p: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == stamps


def test_a_dry_run_reads_an_async_tasks_declarations_and_acts_not(tmp_path, logs):
    root = all_fetched(tmp_path, 2, dry_run=True)
    assert not root.ready
    assert list(tmp_path.iterdir()) == []
    assert "INFO fetched 0: SKIPPING (DRY RUN)" in logs


@task(timeout=0.2)
async def hangs(seen: list):
    yield "hangs"
    yield Asset(None, lambda: False)
    yield None
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        seen.append("cancelled")
        raise


def test_an_async_task_past_its_timeout_is_cancelled():
    seen: list[str] = []
    root = hangs.build(seen).run()
    assert root.status is NodeStatus.FAILED
    assert isinstance(root.error, TaskTimeoutError)
    assert seen == ["cancelled"]


@task(retries=2)
async def flaky(attempts: list):
    yield "flaky"
    yield Asset(None, lambda: len(attempts) >= 3)
    yield None
    attempts.append(1)
    await asyncio.sleep(0)
    if len(attempts) < 3:
        raise ValueError("not yet")


def test_an_async_task_is_retried_from_a_fresh_call():
    attempts: list[int] = []
    root = flaky.build(attempts).run()
    assert root.ready
    assert len(attempts) == 3


@task
async def awaits_too_early():
    await asyncio.sleep(0)
    yield "too early"
    yield Asset(None, lambda: False)
    yield None


def test_awaiting_before_the_declarations_end_is_an_error_naming_the_task():
    with pytest.raises(ProtocolError, match=r"awaits_too_early.*awaited before its last"):
        awaits_too_early.build()


def test_an_async_task_cannot_go_to_worker_processes():
    with pytest.raises(ArgumentError, match="runs on the run's event loop"):
        @task(executor="process")
        async def elsewhere():
            yield "elsewhere"
            yield Asset(None, lambda: False)
            yield None


def test_async_and_thread_tasks_mix(tmp_path):
    @task
    def plain(folder: Path):
        path = folder / "plain"
        yield "plain"
        yield Asset(path, path.exists)
        yield [fetched(folder, 0), fetched(folder, 1)]
        path.write_text("after the async ones")

    root = plain.build(tmp_path).run(threads=2)
    assert root.ready
    assert {n.taskname: n.status for n in traverse(root)} == {
        "plain": NodeStatus.READY, "fetched 0": NodeStatus.READY,
        "fetched 1": NodeStatus.READY}
