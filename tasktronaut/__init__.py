"""tasktronaut: readiness-driven asset tasks and class-based processes, run by one engine."""

from typing import TYPE_CHECKING, Any

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
    "RunFacts",
    "RunRecord",
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
    "run_record",
    "task",
    "tasknames",
]

if TYPE_CHECKING:
    from tasktronaut.engine.facts import RunFacts, RunRecord, run_record
    from tasktronaut.workers import DaskExecutor, ProcessExecutor

_LAZY = {"RunFacts": "tasktronaut.engine.facts", "RunRecord": "tasktronaut.engine.facts",
         "run_record": "tasktronaut.engine.facts", "DaskExecutor": "tasktronaut.workers",
         "ProcessExecutor": "tasktronaut.workers"}
"""Names whose modules load on first use, so that ``import tasktronaut`` stays cheap."""


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tasktronaut' has no attribute {name!r}")
