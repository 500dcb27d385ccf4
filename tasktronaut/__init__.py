"""tasktronaut: readiness-driven asset tasks and class-based processes, run by one engine.

Every public name but ``__version__`` and ``atomic`` is imported on first use (PEP 562), so
that ``import tasktronaut`` costs next to nothing and a command that needs only the asset
tasks never loads the process builder, the state stores or the workers. ``atomic`` is
imported here because its module has the same name: a later import of ``tasktronaut.atomic``
would otherwise leave the module where the function should be.
"""

from typing import TYPE_CHECKING, Any

from tasktronaut._version import __version__
from tasktronaut.atomic import atomic

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
    from tasktronaut.define.builder import Builder
    from tasktronaut.define.decorators import collection, external, task, tasknames
    from tasktronaut.define.process import Context, ExecutionMode, ProcessDefinition
    from tasktronaut.engine.facts import RunFacts, RunRecord, run_record
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

_MODULES = {
    "tasktronaut.define.builder": "Builder",
    "tasktronaut.define.decorators": "collection external task tasknames",
    "tasktronaut.define.process": "Context ExecutionMode ProcessDefinition",
    "tasktronaut.engine.facts": "RunFacts RunRecord run_record",
    "tasktronaut.errors": "ArgumentError ArgumentTypeError CancelProcessError CycleError "
                          "MissingArgumentError NonRetryableProcessError TaskTimeoutError "
                          "TasktronautError",
    "tasktronaut.logs": "log logcfg",
    "tasktronaut.model": "Asset Node NodeKind NodeStatus asset graph ready ref req",
    "tasktronaut.state": "MemoryStore SQLiteStore StateError",
    "tasktronaut.workers": "DaskExecutor ProcessExecutor",
}
_LAZY = {name: module for module, names in _MODULES.items() for name in names.split()}
"""Where each public name lives; its module is imported when the name is first used."""


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tasktronaut' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later uses are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
