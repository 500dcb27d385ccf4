"""Run settings: how a graph is run, validated before anything is built or run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from tasktronaut.errors import ArgumentError
from tasktronaut.logs import RunLog
from tasktronaut.model.node import Node
from tasktronaut.model.options import check_resources
from tasktronaut.model.protocols import is_executor


def names(value: Any, setting: str) -> tuple[str, ...]:
    """A ``force``/``force_downstream`` setting as a tuple of task names."""
    if isinstance(value, str):
        value = (value,)
    try:
        found = tuple(value)
    except TypeError:
        found = (value,)
    for name in found:
        if not isinstance(name, str):
            raise ArgumentError(f"{setting} must be task names, got {value!r}",
                                name=setting, value=value)
    return found


def _force_names(value: Any) -> tuple[str, ...]:
    return names(value, "force")


def _downstream_names(value: Any) -> tuple[str, ...]:
    return names(value, "force_downstream")


@attrs.frozen
class RunSettings:
    """How to run a graph; validated before anything runs."""

    threads: int = 1
    processes: int = 0
    executor: Any = None
    dry_run: bool = False
    fail_fast: bool = False
    listener: Callable[[Node], Any] | None = None
    state: Any = None
    grace: float = 10.0
    observers: tuple[Any, ...] = ()
    resources: dict[str, int] = attrs.field(factory=dict)
    async_limit: int = 100
    loop: Any = None
    restart: bool = False
    force: tuple[str, ...] = attrs.field(default=(), converter=_force_names)
    force_downstream: tuple[str, ...] = attrs.field(default=(),
                                                    converter=_downstream_names)

    def __attrs_post_init__(self) -> None:
        check_resources(self.resources, "resources", minimum=0)
        if type(self.async_limit) is not int or self.async_limit < 1:
            raise ArgumentError(
                f"async_limit must be an integer >= 1, got {self.async_limit!r}",
                name="async_limit", value=self.async_limit,
            )
        if type(self.threads) is not int or self.threads < 1:
            raise ArgumentError(
                f"threads must be an integer >= 1, got {self.threads!r}",
                name="threads", value=self.threads,
            )
        if type(self.processes) is not int or self.processes < 0:
            raise ArgumentError(
                f"processes must be an integer >= 0, got {self.processes!r}",
                name="processes", value=self.processes,
            )
        if type(self.grace) not in (int, float) or self.grace < 0:
            raise ArgumentError(f"grace must be a number of seconds >= 0, got {self.grace!r}",
                                name="grace", value=self.grace)
        if not isinstance(self.restart, bool):
            raise ArgumentError(f"restart must be True or False, got {self.restart!r}",
                                name="restart", value=self.restart)
        if self.listener is not None and not callable(self.listener):
            raise ArgumentError(f"listener must be a function, got {self.listener!r}",
                                name="listener", value=self.listener)
        executor = getattr(self.executor, "value", self.executor)
        if executor not in (None, "thread", "process", "async") and not is_executor(executor):
            raise ArgumentError(
                f"executor must be 'thread', 'process', 'async' or an executor object, "
                f"got {self.executor!r}",
                name="executor", value=self.executor,
            )



def check_settings(**settings: Any) -> None:
    """Validate run settings before anything is built (raises ``ArgumentError``)."""
    log = settings.pop("log", None)
    RunSettings(**settings)
    if log is not None:
        RunLog(log)
