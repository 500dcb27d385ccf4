"""The Dask backend: a whole run sent to a LocalCluster, waited for, cancelled."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bg_flows import Appender, Failing, lines, until

from tasktronaut.background import Status, submit
from tasktronaut.background.dask import DaskBackend

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                       dashboard_address=":0")
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def test_a_run_submitted_to_a_local_cluster_is_waited_for(client: Any, tmp_path: Path) -> None:
    out = str(tmp_path / "out")
    backend = DaskBackend(client)
    handle = submit(Appender, backend=backend, identifier="d1", out=out, steps=3, pause=0.05)
    assert handle.wait(60) is Status.SUCCEEDED
    assert lines(out) == ["d1 step-0", "d1 step-1", "d1 step-2"]
    assert handle.steps["step-2"] == 2
    assert handle.record is not None
    assert handle.record.identifier == "d1"
    failed = submit(Failing, backend=backend, identifier="d2")
    assert failed.wait(60) is Status.FAILED
    assert "no luck" in (failed.info.error or "")


def test_a_dask_run_can_be_cancelled(client: Any, tmp_path: Path) -> None:
    out = str(tmp_path / "out")
    handle = submit(Appender, backend=DaskBackend(client), identifier="d3", out=out,
                    steps=40, pause=0.05)
    until(lambda: len(lines(out)) >= 1, timeout=60, what="a first step")
    handle.cancel()
    assert handle.wait(60) is Status.CANCELLED
    assert "d3 cancelled" in lines(out)
