"""Why a run stops early: one reason, one writer.

A run stops starting new work for exactly one of these reasons; the first one recorded
wins. Cross-thread requests (``Node.cancel`` from another thread, a signal handler) only
record a reason and wake the loop; the loop is the one that acts on it.
"""

from __future__ import annotations

import enum
import threading


class StopReason(enum.Enum):
    """Why a run stopped starting new work."""

    FAILURE = "Stopped after a failure"
    """A node failed and the run has ``fail_fast``."""
    CANCELLED = "Cancelled"
    """``CancelProcessError`` outside a process, or ``node.cancel()``."""
    INTERRUPTED = "Interrupted"
    """Ctrl-C or SIGTERM."""


class Stop:
    """The stop reason of one run (``None`` while it runs normally)."""

    __slots__ = ("_lock", "reason", "signal")

    def __init__(self) -> None:
        self.reason: StopReason | None = None
        self.signal: int | None = None
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        return self.reason is not None

    def request(self, reason: StopReason, signum: int | None = None) -> bool:
        """Record ``reason`` unless one is recorded already; True if this one was first."""
        with self._lock:
            if self.reason is not None:
                return False
            self.reason = reason
            self.signal = signum
            return True
