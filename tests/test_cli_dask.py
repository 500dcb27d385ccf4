"""``tasktronaut run --dask ADDRESS``: actions on a Dask cluster from the command line.

One LocalCluster, started here, serves the tests that give a scheduler address; one test
starts its own with ``--dask local``. The task functions the workers run are at module level
(the Dask workers import this module by name, from this process's ``sys.path``).
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from tasktronaut import Asset, collection, task
from tasktronaut.cli import cli

distributed = pytest.importorskip("distributed")

import tasktronaut.workers  # noqa: E402
from tasktronaut.workers import DaskExecutor  # noqa: E402

pytestmark = pytest.mark.usefixtures("loguru_reset")

PARENT = os.getpid()


@task
def worker_file(path: Path):
    """A file holding the pid of the process that wrote it."""
    yield f"worker file {path.name}"
    yield Asset(path, path.is_file)
    yield None
    path.write_text(str(os.getpid()))


@collection
def worker_files(folder: Path):
    yield "worker files"
    yield [worker_file(folder / name) for name in ("a", "b")]


FLOW = '''
import os
from pathlib import Path

from tasktronaut import Asset, task


@task
def pid_file(path: Path):
    yield f"pid file {path.name}"
    yield Asset(path, path.is_file)
    yield None
    path.write_text(str(os.getpid()))
'''


@pytest.fixture(scope="module")
def scheduler():
    """The address of a LocalCluster with two worker processes.

    dashboard_address=":0": any free port (None still takes the default, 8787).
    """
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
    )
    yield cluster.scheduler_address
    cluster.close()


@pytest.fixture
def closed(monkeypatch):
    """The clients the CLI's DaskExecutors had when they were closed (a spy on close())."""
    clients: list = []

    class Spy(DaskExecutor):
        def close(self) -> None:
            clients.append(self._client)
            super().close()

    monkeypatch.setattr(tasktronaut.workers, "DaskExecutor", Spy)
    return clients


def invoke(*args: str):
    return CliRunner().invoke(cli, ["run", *args])


def test_dask_address_runs_the_actions_on_the_cluster(scheduler, tmp_path, closed):
    result = invoke("test_cli_dask.worker_files", "--arg", f"folder={tmp_path}",
                    "--dask", scheduler)
    assert result.exit_code == 0, result.output
    pids = {int((tmp_path / name).read_text()) for name in "ab"}
    assert PARENT not in pids
    assert "Summary: 2 run" in result.output
    # The executor (and its client) is closed after the run; the cluster stays up.
    [client] = closed
    assert client.status == "closed"
    with distributed.Client(scheduler) as other:
        assert other.submit(abs, -3).result() == 3


def test_dask_local_starts_a_cluster_for_the_run_and_closes_it(tmp_path, closed):
    (tmp_path / "cli_dask_flow.py").write_text(textwrap.dedent(FLOW))
    out = tmp_path / "out"
    result = invoke(f"{tmp_path / 'cli_dask_flow.py'}:pid_file", str(out), "--dask", "local")
    assert result.exit_code == 0, result.output
    assert int(out.read_text()) != PARENT
    [client] = closed
    assert client.status == "closed"
    assert client.cluster.status.name == "closed"


def test_a_dry_run_starts_no_cluster(tmp_path, monkeypatch, closed):
    def no_cluster(*args, **kwargs):
        raise AssertionError("a dry run started a cluster")

    monkeypatch.setattr(distributed, "LocalCluster", no_cluster)
    result = invoke("test_cli_dask.worker_files", "--arg", f"folder={tmp_path}",
                    "--dask", "local", "--dry-run")
    assert result.exit_code == 1, result.output
    assert "SKIPPING (DRY RUN)" in result.output
    assert closed == [None]
    assert not (tmp_path / "a").exists()


def test_a_bad_address_is_one_line_and_exit_status_2(tmp_path):
    result = invoke("test_cli_dask.worker_files", "--arg", f"folder={tmp_path}",
                    "--dask", "nonsense://host:1")
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert errors == [
        "Error: cannot connect to the Dask scheduler at nonsense://host:1: ValueError: unknown "
        "address scheme 'nonsense' (known schemes: ['inproc', 'tcp', 'tls', 'ucx', 'ws', 'wss'])"
    ]
    assert "Traceback" not in result.output


def test_dask_and_processes_do_not_combine(tmp_path):
    result = invoke("test_cli_dask.worker_files", "--arg", f"folder={tmp_path}",
                    "--dask", "local", "-p", "2")
    assert result.exit_code == 2
    assert "Error: --dask and --processes cannot be combined" in result.output
