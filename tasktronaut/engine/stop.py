"""Why a run stops early: one reason, one writer.

A run stops starting new work for exactly one of these reasons; the first one recorded
wins. Cross-thread requests (``Node.cancel`` from another thread, a signal handler) only
record a reason and wake the loop; the loop is the one that acts on it.
"""

from __future__ import annotations

import enum
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


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
        """The first signal (SIGINT, SIGTERM) received; a second one aborts."""
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        return self.reason is not None

    def request(self, reason: StopReason, timeout: float = -1) -> bool:
        """Record ``reason`` unless one is recorded already; True if this one was first.

        ``timeout``: give up after that many seconds waiting for another request to be
        recorded (a signal handler may have interrupted its own thread inside one, which
        then records its reason first)."""
        if not self._lock.acquire(timeout=timeout):
            return False
        try:
            if self.reason is not None:
                return False
            self.reason = reason
            return True
        finally:
            self._lock.release()


@contextmanager
def signals(stop: Stop, on_first: Callable[[int], None]) -> Iterator[None]:
    """Ctrl-C and SIGTERM during the block: the first records ``INTERRUPTED`` and calls
    ``on_first(signum)`` (start nothing new, let running actions finish); a second aborts
    with ``KeyboardInterrupt`` or ``SystemExit(143)``, marked so that no action takes it
    for its own failure. Only the main thread can install handlers; elsewhere it does
    nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        if stop.signal is not None:
            abort: BaseException = (SystemExit(128 + signum) if signum == signal.SIGTERM
                                    else KeyboardInterrupt())
            abort.tasktronaut_abort = True  # type: ignore[attr-defined]
            raise abort
        stop.signal = signum
        stop.request(StopReason.INTERRUPTED, timeout=0.5)
        on_first(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
