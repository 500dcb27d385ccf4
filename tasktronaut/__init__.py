"""tasktronaut: readiness-driven asset tasks and class-based processes, run by one engine."""

from tasktronaut._version import __version__
from tasktronaut.atomic import atomic
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
from tasktronaut.state import MemoryStore, SQLiteStore, StateError
from tasktronaut.workers import DaskExecutor, ProcessExecutor

__all__ = [
    "ArgumentError",
    "Asset",
    "Builder",
    "CancelProcessError",
    "Context",
    "CycleError",
    "DaskExecutor",
    "ExecutionMode",
    "MemoryStore",
    "Node",
    "NodeKind",
    "NodeStatus",
    "NonRetryableProcessError",
    "ProcessDefinition",
    "ProcessExecutor",
    "SQLiteStore",
    "StateError",
    "TaskTimeoutError",
    "TasktronautError",
    "__version__",
    "asset",
    "atomic",
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
