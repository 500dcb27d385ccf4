"""tasktronaut: readiness-driven asset tasks and class-based processes, run by one engine."""

from tasktronaut._version import __version__
from tasktronaut.builder import Builder
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
from tasktronaut.process import Context, ExecutionMode, ProcessDefinition

__all__ = [
    "ArgumentError",
    "Asset",
    "Builder",
    "CancelProcessError",
    "Context",
    "CycleError",
    "ExecutionMode",
    "Node",
    "NodeKind",
    "NodeStatus",
    "NonRetryableProcessError",
    "ProcessDefinition",
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
