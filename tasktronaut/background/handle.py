"""The handle of a submitted run: where it stands, waiting for it, cancelling it."""

from __future__ import annotations

import time
from typing import Any, Protocol

from tasktronaut.background.queue import QueuedRun, Status
from tasktronaut.background.targets import Call
from tasktronaut.engine.facts import RunRecord
from tasktronaut.errors import ArgumentError


class Backend(Protocol):
    """Where background runs are queued and run (the embedded queue, RQ, Dask)."""

    def submit(self, call: Call, identifier: str | None = None,
               settings: dict[str, Any] | None = None, schedule: str | None = None) -> str:
        """Queue a run; return its identifier."""
        ...

    def get(self, identifier: str) -> QueuedRun | None:
        """The run's record, or None if the backend knows no such run."""
        ...

    def request_cancel(self, identifier: str) -> QueuedRun:
        """Ask for the run to be cancelled."""
        ...

    def steps(self, identifier: str) -> dict[str, Any]:
        """The run's completed process steps and their results, as far as known."""
        ...

    def run_record(self, identifier: str) -> RunRecord | None:
        """The facts of the run's last attempt, once it has run."""
        ...


class RunHandle:
    """A run submitted to a backend; every method asks the backend afresh.

    ``handle.id`` names the run everywhere (``tasktronaut status ID``); a handle for a run
    submitted elsewhere is ``RunHandle(backend, id)``.
    """

    def __init__(self, backend: Backend, identifier: str) -> None:
        self.backend = backend
        self.id = identifier

    def __repr__(self) -> str:
        return f"RunHandle({self.id!r}, {self.status().value})"

    @property
    def info(self) -> QueuedRun:
        """What the backend knows about the run: status, target and arguments, times, the
        worker, how many times it was taken, the error line of a failed run."""
        found = self.backend.get(self.id)
        if found is None:
            raise ArgumentError(f"no background run '{self.id}' in {self.backend!r}",
                                name="identifier", value=self.id)
        return found

    def status(self) -> Status:
        """Queued, running, succeeded, failed or cancelled."""
        return self.info.status

    @property
    def ready(self) -> bool:
        """Whether the run has succeeded (its root is ready)."""
        return self.status() is Status.SUCCEEDED

    @property
    def done(self) -> bool:
        """Whether the run has ended, whichever way."""
        return self.status().done

    @property
    def steps(self) -> dict[str, Any]:
        """The completed process steps recorded for the run, with their results."""
        return self.backend.steps(self.id)

    @property
    def record(self) -> RunRecord | None:
        """The run record of the run's last attempt (its facts: per node its state,
        attempts, durations and error; see :mod:`tasktronaut.engine.facts`), once a worker
        has run it; None before."""
        return self.backend.run_record(self.id)

    def wait(self, timeout: float | None = None, poll: float = 0.2) -> Status:
        """Block until the run has ended and return how; ``TimeoutError`` after ``timeout``."""
        due = None if timeout is None else time.monotonic() + timeout
        pause = 0.005
        while True:
            status = self.status()
            if status.done:
                return status
            if due is not None and time.monotonic() >= due:
                raise TimeoutError(f"run '{self.id}' is still {status.value} after "
                                   f"{timeout:g}s")
            pause = min(pause * 2, poll)
            time.sleep(pause if due is None else max(0.0, min(pause, due - time.monotonic())))

    def cancel(self) -> Status:
        """Ask for the run to be cancelled (see :meth:`Backend.request_cancel`); return the
        status right after asking (a queued run is cancelled at once)."""
        return self.backend.request_cancel(self.id).status
