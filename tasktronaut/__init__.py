"""tasktronaut: readiness-driven asset tasks and class-based processes, run by one engine."""

from tasktronaut._version import __version__
from tasktronaut.atomic import atomic
from tasktronaut.define.builder import Builder
from tasktronaut.define.decorators import collection, external, task, tasknames
from tasktronaut.define.process import Context, ExecutionMode, ProcessDefinition
from tasktronaut.errors import (
    ArgumentError,
    ArgumentTypeError,
    CancelProcessError,
    CycleError,
    MissingArgumentError,
    NonRetryableProcessError,
    TaskTimeoutError,
    TasktronautError,
)
from tasktronaut.logs import log, logcfg
from tasktronaut.model import Asset, Node, NodeKind, NodeStatus, asset, graph, ready, ref, req
from tasktronaut.state import MemoryStore, SQLiteStore, StateError
from tasktronaut.workers import DaskExecutor, ProcessExecutor

__all__ = [
    "ArgumentError",
    "ArgumentTypeError",
    "Asset",
    "Builder",
    "CancelProcessError",
    "Context",
    "CycleError",
    "DaskExecutor",
    "ExecutionMode",
    "MemoryStore",
    "MissingArgumentError",
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
