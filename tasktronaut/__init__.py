"""tasktronaut: readiness-driven asset tasks and class-based processes, run by one engine."""

from tasktronaut._version import __version__
from tasktronaut.decorators import collection, external, task, tasknames
from tasktronaut.errors import (
    ArgumentError,
    CancelProcessError,
    CycleError,
    NonRetryableProcessError,
    TaskTimeoutError,
    TasktronautError,
)
from tasktronaut.graph import Asset, Node, NodeKind, NodeStatus, asset, graph, ready, ref, req
from tasktronaut.logs import log, logcfg

__all__ = [
    "ArgumentError",
    "Asset",
    "CancelProcessError",
    "CycleError",
    "Node",
    "NodeKind",
    "NodeStatus",
    "NonRetryableProcessError",
    "TaskTimeoutError",
    "TasktronautError",
    "__version__",
    "asset",
    "collection",
    "external",
    "graph",
    "log",
    "logcfg",
    "ready",
    "ref",
    "req",
    "task",
    "tasknames",
]
