"""Actions on a Dask cluster: a LocalCluster of two worker processes, started here.

The cluster takes seconds to start, so one serves the whole module and the tests are few.
Task functions and definitions are at module level: the Dask workers import this module by
name (their ``sys.path`` is this process's, which has this folder on it).
"""

from __future__ import annotations

import os
import traceback
from pathlib import Path
from typing import ClassVar

import pytest

from tasktronaut import Asset, Builder, Context, ExecutionMode, NodeStatus, ProcessDefinition, task
from tasktronaut.model import traverse

distributed = pytest.importorskip("distributed")

from tasktronaut.workers import DaskExecutor  # noqa: E402

PARENT = os.getpid()


@pytest.fixture(scope="module")
def client():
    # dashboard_address=":0": any free port (None still takes the default, 8787).
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture
def dask(client):
    with DaskExecutor(client) as executor:
        yield executor


class Squares(ProcessDefinition):
    """Two steps side by side, then one that reads their results; hooks record their pid."""

    process_execution_mode = ExecutionMode.SEQUENTIAL
    hook_pids: ClassVar[list[int]] = []

    def define_process(self, builder: Builder) -> None:
        builder.expected_arguments(n=int)
        with builder.concurrent() as b:
            b.task(self.square)
            b.task(self.cube)
        builder.task(self.total)
        if builder.option("fail", False):
            builder.task(self.fail)

    def square(self, n: int) -> tuple[int, int]:
        return n * n, os.getpid()

    def cube(self, n: int) -> tuple[int, int]:
        return n ** 3, os.getpid()

    def total(self, context: Context) -> int:
        return context.result("Squares.square")[0] + context.result("Squares.cube")[0]

    def fail(self) -> None:
        raise KeyError("no such thing")

    def on_started(self, identifier) -> None:
        self.hook_pids.append(os.getpid())

    def on_completed(self, identifier) -> None:
        self.hook_pids.append(os.getpid())


@task
def dask_file(path: Path, text: str):
    """Written by a Dask worker; the driver sees the file."""
    yield f"dask file {path.name}"
    yield Asset(path, path.is_file)
    yield None
    path.write_text(f"{text} {os.getpid()}")


@task
def both_files(folder: Path):
    yield "both files"
    yield Asset(folder / "both", (folder / "both").is_file)
    parts = [dask_file(folder / "a", "a"), dask_file(folder / "b", "b")]
    yield parts
    (folder / "both").write_text(" ".join(p.ref.read_text().split()[0] for p in parts))


def test_process_steps_run_on_dask_workers_and_hooks_here(dask):
    Squares.hook_pids = []
    root = Squares.run(n=3, executor=dask)
    assert root.ready
    results = root.ref
    assert results["Squares.total"] == 9 + 27
    worker_pids = {results["Squares.square"][1], results["Squares.cube"][1]}
    assert PARENT not in worker_pids
    assert Squares.hook_pids == [PARENT, PARENT]


def test_asset_tasks_run_on_dask_workers(dask, tmp_path):
    root = both_files(tmp_path, executor=dask)
    assert root.ready
    assert (tmp_path / "both").read_text() == "a b"
    pids = {int((tmp_path / name).read_text().split()[1]) for name in "ab"}
    assert PARENT not in pids


def test_an_exception_on_a_dask_worker_comes_back(dask):
    root = Squares.run(n=2, options={"fail": True}, executor=dask)
    assert not root.ready
    failed = next(n for n in traverse(root) if n.taskname == "Squares.fail")
    assert failed.status is NodeStatus.FAILED
    assert isinstance(failed.error, KeyError)
    assert "no such thing" in str(failed.error)
    text = "".join(traceback.format_exception(failed.error))
    assert 'raise KeyError("no such thing")' in text


def test_a_local_cluster_logs_its_dashboard_link(logs):
    with DaskExecutor("local", n_workers=1, threads_per_worker=1, processes=False) as executor:
        root = Squares.build(n=3).run(executor=executor)
    assert root.ready
    links = [line for line in logs if "Dask dashboard: http://" in line]
    assert len(links) == 1
