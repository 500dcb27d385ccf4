"""What building a process reads, apart from compiling it: the options it asks for, the
arguments it declares (read by a probe that stops ``define_process`` early), and its mode.

The command line uses the first two to refuse names a process does not take."""

from __future__ import annotations

from contextlib import suppress
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from tasktronaut.define.signature import short_repr, user_code
from tasktronaut.define.steps import ExecutionMode
from tasktronaut.define.views import Options
from tasktronaut.errors import ArgumentError

if TYPE_CHECKING:
    from tasktronaut.define.process import ProcessDefinition

ALL_OPTIONS = "*"
option_reads: ContextVar[set[str] | None] = ContextVar("tasktronaut_option_reads", default=None)
"""While set (by the command line), the names of the options a build asked for; ``"*"`` when
it read them all (``builder.options``)."""


def note_read(name: str) -> None:
    """Note that the build asked for option ``name`` (when the command line listens)."""
    seen = option_reads.get()
    if seen is not None:
        seen.add(name)


class _StopProbe(Exception):
    """Raised to stop ``define_process`` once its expected arguments are known."""


class _Probe:
    """A builder that only records ``expected_arguments``, then stops the definition."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.expected: dict[str, Any] = {}
        self._options = options

    def expected_arguments(self, **expected: Any) -> None:
        self.expected.update(expected)
        raise _StopProbe

    def option(self, name: str, default: Any = None) -> Any:
        note_read(name)
        return self._options.get(name, default)

    @property
    def options(self) -> Options:
        note_read(ALL_OPTIONS)
        return Options(**self._options)

    def __getattr__(self, name: str) -> Any:
        raise _StopProbe


def probe_expected_arguments(definition: type[ProcessDefinition],
                             options: dict[str, Any] | None) -> dict[str, Any]:
    """The types ``definition`` declares with ``expected_arguments`` (before any step)."""
    probe = _Probe(dict(options or {}))
    with suppress(_StopProbe):
        user_code(f"in {definition.__qualname__}.define_process",
                  definition().define_process, probe)
    return probe.expected


def execution_mode(definition: type[ProcessDefinition]) -> ExecutionMode:
    """A definition's execution mode: ``process_execution_mode``, or its alias
    ``execution_mode``, whichever the nearest class in the MRO sets."""
    value: Any = None
    for klass in definition.__mro__:
        if "process_execution_mode" in klass.__dict__:
            value = klass.__dict__["process_execution_mode"]
            break
        if "execution_mode" in klass.__dict__:
            value = klass.__dict__["execution_mode"]
            break
    if not isinstance(value, ExecutionMode):
        raise ArgumentError(
            f"{definition.__name__}.process_execution_mode must be an ExecutionMode, got "
            f"{short_repr(value)}", name="process_execution_mode", value=value,
        )
    return value
