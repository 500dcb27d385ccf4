"""Run leases: which run is working on a process identifier right now.

A run holds a lease on each identifier it records for: who (a random owner id, the process
id and the host) and when it last said it was alive (its heartbeat). Another run of the same
identifier is refused while the lease holds. A lease stops holding when its heartbeat is
older than the time-to-live, or, on the same host, as soon as its process is gone (a run that
was killed leaves a lease that the next run takes over at once).
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from datetime import datetime

import attrs

from tasktronaut.state.base import StateError

DEFAULT_TTL = 30.0
"""Seconds without a heartbeat after which a lease of another host is taken over."""


class LeaseError(StateError):
    """Another run holds the lease on a process identifier."""


def hostname() -> str:
    """This machine's name, as leases record it."""
    return socket.gethostname()


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rpartition(")")[2].split()[:1] != ["Z"]
    except OSError:
        return True


@attrs.frozen
class Lease:
    """Who holds an identifier, and since when."""

    owner: str
    pid: int
    host: str
    started: float
    heartbeat: float

    @classmethod
    def mine(cls) -> Lease:
        """A new lease for a run of this process."""
        now = time.time()
        return cls(uuid.uuid4().hex, os.getpid(), hostname(), now, now)

    def holds(self, ttl: float, now: float | None = None) -> bool:
        """Whether the lease still keeps other runs out."""
        now = time.time() if now is None else now
        if now - self.heartbeat > ttl:
            return False
        return self.host != hostname() or pid_alive(self.pid)

    def refusal(self, process_id: str) -> LeaseError:
        """The error for a run that finds this lease in its way."""
        since = datetime.fromtimestamp(self.started).strftime("%Y-%m-%dT%H:%M:%S")
        ago = max(0.0, time.time() - self.heartbeat)
        return LeaseError(
            f"Process identifier '{process_id}' is being run by another run (pid {self.pid} "
            f"on {self.host}, since {since}, last heartbeat {ago:.0f}s ago); wait for it to "
            "end or stop it",
            process_id=process_id,
        )
