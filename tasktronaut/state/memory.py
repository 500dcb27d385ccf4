"""The in-memory store: records for as long as the object lives, for one run or a test."""

from __future__ import annotations

import threading
import time
from typing import Any

from tasktronaut.state.base import ProcessSummary, check_name, timestamp
from tasktronaut.state.leases import DEFAULT_TTL, Lease


class MemoryStore:
    """Records in a dict, for one run. Thread-safe; results are kept as they are (no copy).

    It keeps leases and arguments too, so two runs sharing one object in one program are
    kept apart as two runs sharing a file are.
    """

    shared = False
    """Only this program sees the store, so its leases need no heartbeat."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, dict[str, tuple[Any, float]]] = {}
        self._arguments: dict[str, dict[str, str]] = {}
        self._runs: dict[str, dict[str, Any]] = {}
        self._leases: dict[str, Lease] = {}

    def __repr__(self) -> str:
        return "MemoryStore()"

    def __enter__(self) -> MemoryStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def completed(self, process_id: str) -> dict[str, Any]:
        check_name("process_id", process_id)
        with self._lock:
            steps = self._records.get(process_id, {})
            return {step: result for step, (result, _) in steps.items()}

    def record(self, process_id: str, step: str, result: Any) -> None:
        check_name("process_id", process_id)
        check_name("step", step)
        with self._lock:
            steps = self._records.setdefault(process_id, {})
            steps.pop(step, None)  # a re-recorded step moves to the end, as in SQLiteStore
            steps[step] = (result, time.time())

    def keep_run(self, process_id: str, record: dict[str, Any]) -> None:
        """Keep ``record`` as the last run of ``process_id``."""
        with self._lock:
            self._runs[process_id] = dict(record)

    def last_run(self, process_id: str) -> dict[str, Any] | None:
        """The record kept for the last run of ``process_id`` (None if none is)."""
        with self._lock:
            found = self._runs.get(process_id)
        return dict(found) if found is not None else None

    def forget(self, process_id: str, step: str | None = None) -> int:
        check_name("process_id", process_id)
        with self._lock:
            steps = self._records.get(process_id, {})
            if step is None:
                self._records.pop(process_id, None)
                self._arguments.pop(process_id, None)
                self._runs.pop(process_id, None)
                return len(steps)
            removed = int(steps.pop(step, None) is not None)
            if not steps:
                self._records.pop(process_id, None)
            return removed

    def processes(self) -> list[ProcessSummary]:
        with self._lock:
            return [
                ProcessSummary(pid, len(steps), timestamp(max(t for _, t in steps.values())))
                for pid, steps in sorted(self._records.items())
                if steps
            ]

    def revision(self, process_id: str) -> tuple[int, float]:
        """What changes whenever a record of ``process_id`` is added, replaced or removed."""
        with self._lock:
            steps = self._records.get(process_id, {})
            return len(steps), max((t for _, t in steps.values()), default=0.0)

    def arguments(self, process_id: str) -> dict[str, str] | None:
        """The arguments the records of ``process_id`` were made with (None: not known)."""
        with self._lock:
            found = self._arguments.get(process_id)
            return None if found is None else dict(found)

    def set_arguments(self, process_id: str, arguments: dict[str, str]) -> None:
        """Say which arguments the records of ``process_id`` are made with."""
        with self._lock:
            self._arguments[process_id] = dict(arguments)

    def acquire(self, process_id: str, lease: Lease, ttl: float = DEFAULT_TTL) -> None:
        """Take the lease on ``process_id`` for ``lease``'s owner, or raise ``LeaseError``."""
        with self._lock:
            held = self._leases.get(process_id)
            if held is not None and held.owner != lease.owner and held.holds(ttl):
                raise held.refusal(process_id)
            self._leases[process_id] = lease

    def renew(self, process_id: str, owner: str) -> None:
        """Refresh the heartbeat of ``owner``'s lease on ``process_id``."""
        with self._lock:
            held = self._leases.get(process_id)
            if held is not None and held.owner == owner:
                self._leases[process_id] = Lease(held.owner, held.pid, held.host,
                                                 held.started, time.time())

    def release(self, process_id: str, owner: str) -> None:
        """Give up ``owner``'s lease on ``process_id`` (nothing if another holds it)."""
        with self._lock:
            held = self._leases.get(process_id)
            if held is not None and held.owner == owner:
                del self._leases[process_id]

    def lease(self, process_id: str) -> Lease | None:
        """The lease recorded on ``process_id``, if any (it may no longer hold)."""
        with self._lock:
            return self._leases.get(process_id)

    def check_writable(self) -> None:
        """A memory store can always be written."""

    def close(self) -> None:
        """Nothing to release: the records stay readable as long as the object lives."""
