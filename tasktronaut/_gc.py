"""Keeping the cyclic garbage collector off the graph while it is built and run.

A graph is tens of thousands of long-lived objects (nodes, suspended task functions, assets).
Left alone, the collector traverses all of them again and again while they are created,
which roughly doubles the cost of building a large graph. Building runs only the short
prologues of task functions, so collection is paused for that; for the run, the graph is
moved to the collector's permanent generation (``gc.freeze``), so actions still get normal
collection of the garbage they make while the graph itself is not traversed; when the run
ends, everything frozen is handed back to the collector.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """No automatic collection inside the block (restored as it was afterwards).

    On the way out the objects made inside are frozen: otherwise the first collection after
    the block would traverse the whole new graph at once. The run that follows unfreezes
    them when it ends (and so does any later run, for a graph that is never run).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


@contextmanager
def frozen() -> Iterator[None]:
    """Objects that exist now are not traversed by collections inside the block."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
