"""The shapes every engine of ``bench_peers.py`` builds, and how many units each counts.

Imported by each engine's module (``peer_tasktronaut``, ``peer_iotaa``, ``peer_dask``) in an
interpreter of its own, so it imports nothing.
"""

from __future__ import annotations

LAYER_WIDTH, LAYER_FANIN = 100, 3
"""``layered``: tasks per layer, and how many tasks of the layer below each one requires."""


def units(workload: str, size: int) -> int:
    """Nodes of an asset graph (tasks plus the join or root collection, as bench_engine
    counts them), or steps of a process workload."""
    if workload == "fan-out":
        return size + 1
    if workload == "chain":
        return size
    if workload == "layered":
        return size * LAYER_WIDTH + 1
    if workload in ("process-each", "process-pool"):
        return size
    raise ValueError(f"no workload {workload!r}")
