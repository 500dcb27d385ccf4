"""Workers: take queued runs from the embedded queue and run them with the engine.

A :class:`Worker` holds each run it takes under a lease that its loop renews (the
heartbeat), runs it in a thread of its own with ``node.run(state=<the queue's store>)`` (so
a run that was taken over resumes from its completion records), and records the outcome.
The same heartbeat reads cancel requests: the run's root is cancelled, so nothing new
starts and ``on_cancelled`` runs.

Stopping (``stop()``, or SIGTERM to ``tasktronaut worker``) starts nothing new, lets the
runs it holds finish within the grace period, and hands the others back to the queue, so the
next worker takes them at once instead of waiting for a lease to lapse.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import attrs

from tasktronaut.background import runner, targets
from tasktronaut.background.queue import QueuedRun, SQLiteQueue, Status
from tasktronaut.background.schedules import Clock, SystemClock, fire_due
from tasktronaut.errors import ArgumentError
from tasktronaut.logs import log
from tasktronaut.model.node import Node
from tasktronaut.state import DEFAULT_TTL, Lease, LeaseError


@attrs.define
class _Active:
    """A run this worker is executing."""

    record: QueuedRun
    thread: threading.Thread | None = None
    root: Node | None = None
    cancelled: bool = False


class Worker:
    """Runs queued runs of a state file, ``concurrency`` at a time.

    Args:
        state: The state file (or a :class:`~tasktronaut.background.SQLiteQueue`).
        concurrency: How many runs at once (each in a thread of its own).
        poll: Seconds between looks at the queue and heartbeats when idle.
        lease_ttl: The lease time-to-live (see :class:`SQLiteQueue`).
        grace: Seconds ``stop()`` lets running runs finish before handing them back.
        clock: Where "now" comes from for schedules (a :class:`~tasktronaut.background.
            FakeClock` in tests).
        schedules: Whether this worker also submits the runs schedules make due.
    """

    def __init__(self, state: Any, *, concurrency: int = 1, poll: float = 0.5,
                 lease_ttl: float = DEFAULT_TTL, grace: float = 10.0,
                 clock: Clock | None = None, schedules: bool = True) -> None:
        if type(concurrency) is not int or concurrency < 1:
            raise ArgumentError(f"concurrency must be an integer >= 1, got {concurrency!r}",
                                name="concurrency", value=concurrency)
        self.queue = state if isinstance(state, SQLiteQueue) else SQLiteQueue(state, lease_ttl)
        self.concurrency = concurrency
        self.poll = float(poll)
        self.grace = float(grace)
        self.clock = clock or SystemClock()
        self.schedules = schedules
        self.lease = Lease.mine()
        self.completed = 0
        self._active: dict[str, _Active] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._hurry = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_beat = 0.0
        self._signals = 0  # stop requests from signal handlers (see signal_stop)

    def __repr__(self) -> str:
        return f"Worker({str(self.queue.path)!r}, concurrency={self.concurrency})"

    @property
    def stopping(self) -> bool:
        """Whether a stop was requested (the worker starts nothing new)."""
        return self._stopping.is_set() or self._signals > 0

    @property
    def active(self) -> list[str]:
        """The identifiers of the runs this worker is executing."""
        with self._lock:
            return list(self._active)

    def tick(self) -> list[str]:
        """One pass: submit due scheduled runs, renew leases, act on cancel requests, and
        start queued runs while there is room. Returns the identifiers it started."""
        if self.schedules:
            fire_due(self.queue, self.clock.now())
        self._heartbeat()
        started: list[str] = []
        while not self.stopping and len(self.active) < self.concurrency:
            record = self.queue.claim(self.lease)
            if record is None:
                break
            started.append(record.id)
            self._start(record)
        return started

    def run(self, *, until_idle: bool = False) -> None:
        """Serve the queue until :meth:`stop` (or, with ``until_idle``, until it is empty
        and nothing runs)."""
        while not self.stopping:
            started = self.tick()
            if until_idle and not started and not self.active:
                return
            if not started:
                self._wake.wait(self.poll)
                self._wake.clear()

    def start(self) -> Worker:
        """Serve the queue in a background thread of this process; returns ``self``."""
        if self._thread is not None:
            raise ArgumentError("this worker is already started", name="worker", value=self)
        self._thread = threading.Thread(target=self.run, name="tasktronaut-worker",
                                        daemon=True)
        self._thread.start()
        return self

    def request_stop(self) -> None:
        """Start nothing new; :meth:`run` returns (safe to call from a signal handler). A
        second request ends the grace period of a :meth:`stop` under way at once."""
        if self._stopping.is_set():
            self._hurry.set()
        self._stopping.set()
        self._wake.set()

    def signal_stop(self) -> int:
        """:meth:`request_stop` for a signal handler; returns how many came so far.

        It only counts: a handler runs between two instructions of whatever this thread was
        doing, perhaps inside a lock an event holds, so it takes none. :meth:`run` and the
        grace period of :meth:`stop` see it within ``poll`` seconds."""
        self._signals += 1
        return self._signals

    def stop(self, grace: float | None = None) -> list[str]:
        """Start nothing new; wait up to ``grace`` seconds for running runs to end, then
        hand the rest back to the queue. Returns the identifiers handed back."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        due = time.monotonic() + (self.grace if grace is None else grace)
        while self.active and time.monotonic() < due and not (
                self._hurry.is_set() or self._signals > 1):
            self._wake.clear()
            self._heartbeat()  # keeps the leases, and still acts on cancel requests
            self._wake.wait(max(0.0, min(self.poll, due - time.monotonic())))
        handed = []
        for ident in self.active:
            if self.queue.hand_back(ident, self.lease.owner):
                handed.append(ident)
                log.warning("worker: handed run %s back to the queue", ident)
        return handed

    def release_run_leases(self) -> None:
        """Give back the run leases this process's engine runs hold (before exiting with
        runs still going, so that the next worker need not wait for them to lapse)."""
        store = self.queue.store
        for ident in self.active:
            held = store.lease(ident)
            if held is not None and held.pid == self.lease.pid:
                store.release(ident, held.owner)

    def _heartbeat(self) -> None:
        now = time.monotonic()
        if now - self._last_beat < min(self.poll, self.queue.lease_ttl / 3):
            return
        self._last_beat = now
        for ident in self.queue.heartbeat(self.lease.owner):
            with self._lock:
                active = self._active.get(ident)
            if active is not None and not active.cancelled:
                self._cancel(active)

    def _cancel(self, active: _Active) -> None:
        # A run that has not started yet is tried again at the next heartbeat.
        if active.root is not None and runner.cancel_when_started(active.root):
            active.cancelled = True
            log.warning("worker: cancelled run %s", active.record.id)

    def _start(self, record: QueuedRun) -> None:
        active = _Active(record)
        thread = threading.Thread(target=self._execute, args=(active,), daemon=True,
                                  name=f"tasktronaut-run-{record.id}")
        active.thread = thread
        with self._lock:
            self._active[record.id] = active
        thread.start()

    def _execute(self, active: _Active) -> None:
        record = active.record
        try:
            self._conclude(record, *self._outcome(active))
        finally:
            with self._lock:
                self._active.pop(record.id, None)
            self._wake.set()

    def _outcome(self, active: _Active) -> tuple[Status | None, str | None]:
        record = active.record
        try:
            return self._perform(active)
        except LeaseError as exc:
            # Another run of this identifier (a worker that was stopped and is still
            # finishing) holds it: hand it back and let it be taken again shortly.
            log.warning("worker: run %s: %s", record.id, exc)
            self._stopping.wait(1.0)
            self.queue.hand_back(record.id, self.lease.owner)
            return None, None
        except Exception as exc:
            return Status.FAILED, f"{type(exc).__name__}: {exc}"

    def _conclude(self, record: QueuedRun, status: Status | None, error: str | None) -> None:
        if status is not None and self.queue.finish(record.id, self.lease.owner, status, error):
            self.completed += 1
            log.info("worker: run %s %s%s", record.id, status.value,
                     f": {error}" if error else "")

    def _perform(self, active: _Active) -> tuple[Status, str | None]:
        record = active.record
        log.info("worker: running %s (%s)", record.id, record.call.target)
        root = targets.build(record.call, record.id)
        active.root = root
        if record.cancel_requested:
            return Status.CANCELLED, None
        root = runner.run(root, record.id, self.queue.store, record.settings)
        return runner.outcome(root, active.cancelled)

