"""The Dask backend: the whole run goes to a Dask cluster and runs on one of its workers.

``submit`` hands the cluster a task that builds the run and runs it with the engine there
(fire-and-forget: the task runs even after the submitting client goes away), so the run's
actions run on the cluster. A cancel request is a Dask ``Event`` the running task polls (its
run is then cancelled: nothing new starts and ``on_cancelled`` runs). Status comes from the
task's future, which the backend object that submitted keeps (Dask holds an outcome only
for a client that wants it): pending (reported as running: the scheduler starts it as soon
as a worker is free), finished, erred or cancelled. Use the embedded or the RQ backend to
look a run up from another process.

Needs ``pip install 'tasktronaut[dask]'``.
"""

from __future__ import annotations

import importlib
import time
from typing import Any

from tasktronaut.background import runner
from tasktronaut.background.queue import QueuedRun, Status, check_settings, new_identifier
from tasktronaut.background.targets import Call
from tasktronaut.engine.facts import RunRecord

_PREFIX = "tasktronaut-run-"


def _distributed() -> Any:
    """The ``distributed`` module (imported on first use: it is heavy and optional)."""
    return importlib.import_module("distributed")


class DaskBackend:
    """Runs as tasks of the Dask cluster a ``distributed.Client`` (or address) reaches.

    Args:
        client: A ``distributed.Client``, or a scheduler address to connect to.
        state: A state file path the cluster's workers record completed steps in (they
            must share it); ``None`` keeps each run's records in memory.
    """

    def __init__(self, client: Any, state: str | None = None) -> None:
        client_type = _distributed().Client
        self.client = client if isinstance(client, client_type) else client_type(client)
        self.state = state
        self._calls: dict[str, tuple[Call, dict[str, Any], float]] = {}
        self._futures: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"DaskBackend({self.client!r})"

    def submit(self, call: Call, identifier: str | None = None,
               settings: dict[str, Any] | None = None, schedule: str | None = None) -> str:
        """Send the run to the cluster; return its identifier."""
        ident = new_identifier() if identifier is None else identifier
        settings = settings or {}
        check_settings(settings)
        future = self.client.submit(perform, call.target, call.to_json(), settings, ident,
                                    self.state, key=_PREFIX + ident, pure=False)
        _distributed().fire_and_forget(future)  # runs on even if this client goes away
        self._futures[ident] = future  # keeps the outcome on the cluster for this client
        self._calls[ident] = (call, settings, time.time())
        return ident

    def _future(self, identifier: str) -> Any:
        return self._futures[identifier]

    def get(self, identifier: str) -> QueuedRun | None:
        """The run's record, from its task's future (None for a run this backend object
        did not submit: Dask keeps an outcome only for the client that asked for it)."""
        known = self._calls.get(identifier)
        if known is None:
            return None
        call, settings, submitted = known
        future = self._future(identifier)
        status, error = Status.RUNNING, None
        if future.status == "finished":
            outcome = future.result()
            status, error = Status(outcome["status"]), outcome["error"]
        elif future.status == "error":
            status, error = Status.FAILED, repr(future.exception())
        elif future.status == "cancelled":
            status = Status.CANCELLED
        return QueuedRun(identifier, call, settings, status, submitted, None, None, None,
                         self._cancel_event(identifier).is_set(), 1, error, None)

    def _cancel_event(self, identifier: str) -> Any:
        return _distributed().Event(f"tasktronaut-cancel-{identifier}", client=self.client)

    def request_cancel(self, identifier: str) -> QueuedRun:
        """Ask the running task to cancel its run."""
        self._cancel_event(identifier).set()
        found = self.get(identifier)
        if found is None:
            from tasktronaut.errors import ArgumentError

            raise ArgumentError(f"no background run '{identifier}' in {self!r}",
                                name="identifier", value=identifier)
        return found

    def steps(self, identifier: str) -> dict[str, Any]:
        """The completed process steps the finished task reported."""
        if identifier not in self._futures or self._future(identifier).status != "finished":
            return {}
        return dict(self._future(identifier).result()["steps"])

    def run_record(self, identifier: str) -> RunRecord | None:
        """The run record the finished task reported."""
        if identifier not in self._futures or self._future(identifier).status != "finished":
            return None
        data = self._future(identifier).result().get("record")
        return None if data is None else RunRecord.from_data(data)


def perform(target: str, call_json: str, settings: dict[str, Any], identifier: str,
            state: str | None) -> dict[str, Any]:
    """The Dask task: build the run and run it on this worker; return its outcome."""
    event = _distributed().Event(f"tasktronaut-cancel-{identifier}")
    return runner.perform(Call.from_json(target, call_json), identifier, settings, state,
                          event.is_set)
