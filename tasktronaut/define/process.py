"""Processes: class-based workflow definitions, their lifecycle hooks and the step Context.

A :class:`ProcessDefinition` describes its flow in ``define_process(builder)``; the builder
compiles it into ordinary graph nodes (see :mod:`tasktronaut.define.builder`), so a process
runs on the same engine as asset tasks and mixes with them freely. What exists while a process
runs (per-process state, the step ``Context``) is in :mod:`tasktronaut.define.steps`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from tasktronaut.define.builder import build_process, probe_expected_arguments
from tasktronaut.define.steps import Context, ExecutionMode
from tasktronaut.engine import check_settings
from tasktronaut.errors import ArgumentError
from tasktronaut.logs import log
from tasktronaut.model.node import Node

__all__ = ["Context", "ExecutionMode", "ProcessDefinition"]


class ProcessDefinition:
    """Subclass this and implement :meth:`define_process` to describe a process.

    Set ``process_execution_mode`` (or its alias ``execution_mode``) to choose whether the
    top-level steps run one after another or side by side, and ``description`` to name the
    process in logs. Override the ``on_*`` hooks and :meth:`around_task` to observe a run.
    """

    __tasktronaut_process__: ClassVar[bool] = True
    process_execution_mode: ClassVar[ExecutionMode] = ExecutionMode.SEQUENTIAL
    description: ClassVar[str | None] = None

    def define_process(self, builder: Any) -> None:
        """Describe the process with ``builder`` (a :class:`~tasktronaut.Builder`)."""
        raise NotImplementedError(f"{type(self).__name__} must implement define_process()")

    @classmethod
    def mode(cls) -> ExecutionMode:
        """The execution mode, honouring the ``execution_mode`` alias."""
        value = cls.__dict__.get("execution_mode")
        for klass in cls.__mro__:
            if "process_execution_mode" in klass.__dict__:
                value = klass.__dict__["process_execution_mode"]
                break
            if "execution_mode" in klass.__dict__:
                value = klass.__dict__["execution_mode"]
                break
        if not isinstance(value, ExecutionMode):
            raise ArgumentError(
                f"{cls.__name__}.process_execution_mode must be an ExecutionMode, got {value!r}",
                name="process_execution_mode", value=value,
            )
        return value

    @classmethod
    def build(cls, identifier: str | None = None, options: dict[str, Any] | None = None,
              **kwargs: Any) -> Node:
        """Compile the process into graph nodes and return its root; nothing runs."""
        return build_process(cls, identifier, options, kwargs)

    @classmethod
    def run(cls, identifier: str | None = None, options: dict[str, Any] | None = None, *,
            threads: int = 1, processes: int = 0, executor: Any = None, dry_run: bool = False,
            log: Any = None, **kwargs: Any) -> Node:
        """Build the process and run it; return the root node (``.ready`` tells the outcome)."""
        check_settings(threads=threads, processes=processes, executor=executor,
                       dry_run=dry_run, log=log)
        root = cls.build(identifier, options, **kwargs)
        return root.run(threads=threads, processes=processes, executor=executor,
                        dry_run=dry_run, log=log)

    @classmethod
    def expected_types(cls, options: dict[str, Any] | None = None) -> dict[str, Any]:
        """The arguments ``define_process`` declares with ``expected_arguments``."""
        return probe_expected_arguments(cls, options)

    def on_started(self, identifier: str | None) -> None:
        """Called once, when the first step of this process starts."""
        log.info("%s: Started", self._label(identifier))

    @contextmanager
    def around_task(self, identifier: str | None, step: str, description: str,
                    context: Context) -> Iterator[None]:
        """Wraps every step of this process (a context manager)."""
        yield

    around_task.__tasktronaut_default__ = True  # type: ignore[attr-defined]

    def on_completed(self, identifier: str | None) -> None:
        """Called once, when every step of this process has completed."""
        log.info("%s: Completed", self._label(identifier))

    def on_failed(self, identifier: str | None, step: str, error: BaseException) -> None:
        """Called once per failed step, after its last attempt."""
        log.error("%s: Step %s failed: %s", self._label(identifier), step, error)

    def on_cancelled(self, identifier: str | None) -> None:
        """Called once when the process is cancelled (a step raised ``CancelProcessError``)."""
        log.warning("%s: Cancelled", self._label(identifier))

    def _label(self, identifier: str | None) -> str:
        name = self.description or type(self).__name__
        return f"{name} [{identifier}]" if identifier else name
