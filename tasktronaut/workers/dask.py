"""The Dask executor: actions go to a Dask cluster; scheduling stays in this process."""

from __future__ import annotations

import uuid
from typing import Any

from tasktronaut.errors import TasktronautError
from tasktronaut.logs import RunLog
from tasktronaut.model.protocols import Events, Job


def _call(job: Job) -> Any:
    return job()


class DaskExecutor:
    """Send actions to a Dask cluster (``pip install tasktronaut[dask]``).

    ``address`` is a scheduler address (``"tcp://host:8786"``), ``"local"`` to start a
    ``distributed.LocalCluster`` on this machine (extra keyword arguments go to it), or an
    existing ``distributed.Client``. Readiness checks and scheduling stay in this process.
    Use it as a context manager, or call :meth:`close`, to release what it started. A local
    cluster's dashboard link is logged when it starts.

    A timeout or a cancel gives up on an attempt at once (its future is cancelled), but an
    action already running on a worker runs on to its end there: Dask cannot interrupt it.
    """

    remote = True

    def __init__(self, address: Any = "local", **cluster_kwargs: Any) -> None:
        self._address = address
        self._cluster_kwargs = cluster_kwargs
        self._client: Any = None
        self._cluster: Any = None
        self._events: Events | None = None
        self._futures: dict[int, Any] = {}
        self.capacity = 1

    @property
    def client(self) -> Any:
        """The ``distributed.Client`` (connecting on first use)."""
        if self._client is None:
            try:
                from distributed import Client, LocalCluster
            except ImportError:
                raise TasktronautError(
                    "DaskExecutor needs Dask: pip install 'tasktronaut[dask]'") from None
            if isinstance(self._address, Client):
                self._client = self._address
            elif self._address == "local":
                options = {"dashboard_address": ":0", **self._cluster_kwargs}
                self._cluster = LocalCluster(**options)  # type: ignore[no-untyped-call]
                self._client = Client(self._cluster)  # type: ignore[no-untyped-call]
            else:
                self._client = Client(self._address)  # type: ignore[no-untyped-call]
        return self._client

    def start(self, events: Events, log: RunLog) -> None:
        self._events = events
        starting = self._client is None
        self.capacity = max(1, sum(self.client.nthreads().values()))
        if starting and self._cluster is not None and log.info_on:
            log.info(f"Dask dashboard: {self._cluster.dashboard_link}")

    def submit(self, node: Any, job: Job) -> None:
        events = self._events
        assert events is not None
        future = self.client.submit(_call, job, pure=False, key=f"tasktronaut-{uuid.uuid4().hex}")
        self._futures[id(node)] = future

        def done(f: Any) -> None:
            self._futures.pop(id(node), None)
            try:
                events.put((node, True, f.result()))
            except BaseException as e:
                events.put((node, False, e))

        future.add_done_callback(done)

    def cancel(self, node: Any) -> None:
        """Give up on this attempt: its future is cancelled and its result discarded.

        Dask cannot interrupt Python code already running on a worker: such an action runs
        on to its end there, holding one of the worker's threads.
        """
        future = self._futures.pop(id(node), None)
        if future is not None:
            future.cancel(force=True)

    def shutdown(self) -> None:
        """Detach from the run; the cluster stays up until :meth:`close`."""
        self._events = None

    def close(self) -> None:
        """Close the client, and the local cluster if this executor started one."""
        if self._client is not None and self._client is not self._address:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        self._client = self._cluster = None

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
