"""The error hierarchy: every error tasktronaut raises derives from :class:`TasktronautError`.

Errors carry the data a user needs to act on them (the task, the argument, the value), and
their messages are single lines so that the command line can print them as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class TasktronautError(Exception):
    """Base class of all tasktronaut errors."""


class ProtocolError(TasktronautError):
    """A task function broke the yield protocol (too few yields, wrong kind of value)."""

    def __init__(self, task: str, problem: str) -> None:
        super().__init__(f"Task '{task}': {problem}")
        self.task = task
        self.problem = problem


class CycleError(TasktronautError):
    """Requirements form a cycle; ``cycle`` lists the task names along it."""

    def __init__(self, cycle: Sequence[str]) -> None:
        super().__init__("Requirement cycle: " + " -> ".join(cycle))
        self.cycle = list(cycle)


class ArgumentError(TasktronautError):
    """A process argument (or run setting) is missing or has the wrong type or value."""

    def __init__(self, message: str, *, name: str | None = None, value: Any = None) -> None:
        super().__init__(message)
        self.name = name
        self.value = value


class NonRetryableProcessError(TasktronautError):
    """Raised by a step to fail at once, without any retry."""


class CancelProcessError(TasktronautError):
    """Raised by a step to cancel its process: nothing more is started."""


class TaskTimeoutError(TasktronautError):
    """An attempt of a task exceeded its ``timeout``."""

    def __init__(self, task: str, timeout: float) -> None:
        super().__init__(f"Task '{task}' timed out after {timeout:g}s")
        self.task = task
        self.timeout = timeout


class WorkerError(TasktronautError):
    """A worker process died (or could not be reached) while running a task."""


class MissingArgumentError(ArgumentError, TypeError):
    """A declared argument was not given.

    Also a :class:`TypeError`, as tasktronaut 0.3 raised, so ``except TypeError`` keeps working.
    """


class ArgumentTypeError(ArgumentError, ValueError):
    """An argument has the wrong type or breaks a declared constraint.

    Also a :class:`ValueError`, as tasktronaut 0.3 raised, so ``except ValueError`` keeps working.
    """


class StateError(TasktronautError):
    """A state store could not record or read completions.

    ``process_id``, ``step`` and ``value_type`` are set when the error concerns one record
    (for instance a result that cannot be serialised).
    """

    def __init__(
        self,
        message: str,
        *,
        process_id: str | None = None,
        step: str | None = None,
        value_type: type | None = None,
    ) -> None:
        super().__init__(message)
        self.process_id = process_id
        self.step = step
        self.value_type = value_type
