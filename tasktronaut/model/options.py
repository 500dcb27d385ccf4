"""Task options: how a task's action is run (retries, backoff, timeout, executor).

Options are validated once, when the decorator or builder call that declares them runs, so a
mistake is reported where it was written rather than deep inside a run.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any

import attrs

from tasktronaut.errors import ArgumentError
from tasktronaut.model.protocols import is_executor


class Backoff(enum.Enum):
    """How the wait between two attempts grows."""

    NONE = "none"
    LINEAR = "linear"
    EXPONENTIAL = "exponential"


class ExecutorKind(enum.Enum):
    """Where an action runs when no executor object is given."""

    THREAD = "thread"
    PROCESS = "process"
    ASYNC = "async"
    """The run's event loop (for actions that return awaitables)."""


def _number(name: str, value: Any, optional: bool = False) -> None:
    """A real number (not a bool), or ``None`` where that is allowed."""
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        kind = "a number of seconds" if name != "jitter" else "a number"
        raise ArgumentError(f"{name} must be {kind}, got {value!r}", name=name, value=value)


def _non_negative(name: str, value: float | None) -> None:
    _number(name, value, optional=name == "backoff_max")
    if value is not None and value < 0:
        raise ArgumentError(f"{name} must be >= 0, got {value!r}", name=name, value=value)


def _integer(name: str, value: Any, at_least_zero: bool = False) -> None:
    """An integer (not a bool), ``>= 0`` if ``at_least_zero``."""
    if isinstance(value, bool) or not isinstance(value, int) or (at_least_zero and value < 0):
        bound = " >= 0" if at_least_zero else ""
        raise ArgumentError(f"{name} must be an integer{bound}, got {value!r}", name=name,
                            value=value)


def _positive(name: str, value: float | None) -> None:
    """A duration that, when given, is more than zero seconds."""
    if value is not None and value <= 0:
        raise ArgumentError(f"{name} must be > 0 seconds, got {value!r}", name=name, value=value)


def _check_exceptions(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, tuple) or not all(
        isinstance(e, type) and issubclass(e, BaseException) for e in value
    ):
        raise ArgumentError(
            f"retry_on must be exception classes, got {value!r}", name="retry_on", value=value
        )


def _optional_callable(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not callable(value):
        raise ArgumentError(
            f"{attribute.name} must be a function, got {value!r}", name=attribute.name,
            value=value,
        )


def _to_backoff(value: Backoff | str) -> Backoff:
    try:
        return Backoff(value)
    except ValueError:
        choices = ", ".join(b.value for b in Backoff)
        raise ArgumentError(
            f"backoff must be one of {choices}, got {value!r}", name="backoff", value=value
        ) from None


def _to_executor(value: Any) -> Any:
    if value is None or isinstance(value, ExecutorKind):
        return value
    if not isinstance(value, str) and not is_executor(value):
        raise ArgumentError(
            f"executor must be 'thread', 'process', 'async' or an executor object, "
            f"got {value!r}",
            name="executor", value=value,
        )
    if isinstance(value, str):
        try:
            return ExecutorKind(value)
        except ValueError:
            choices = ", ".join(k.value for k in ExecutorKind)
            raise ArgumentError(
                f"executor must be one of {choices} or an executor object, got {value!r}",
                name="executor",
                value=value,
            ) from None
    return value


def _to_resources(value: Any) -> tuple[tuple[str, int], ...]:
    """``{"db": 1}`` as sorted pairs (hashable, like every option); checked here."""
    if isinstance(value, tuple):
        value = dict(value)
    return tuple(sorted(check_resources(value, "resources", minimum=1).items()))


def check_resources(value: Any, what: str, minimum: int) -> dict[str, int]:
    """A mapping of resource names to whole amounts (at least ``minimum``), or an error."""
    if not isinstance(value, dict):
        raise ArgumentError(f"{what} must be a dict of resource names to amounts, "
                            f"got {value!r}", name=what, value=value)
    for name, amount in value.items():
        if not isinstance(name, str) or not name:
            raise ArgumentError(f"{what}: a resource name must be a non-empty string, "
                                f"got {name!r}", name=what, value=value)
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < minimum:
            raise ArgumentError(f"{what}: resource '{name}' needs a whole amount >= {minimum}, "
                                f"got {amount!r}", name=what, value=value)
    return dict(value)


def _to_tuple(value: Any) -> Any:
    if isinstance(value, type):
        return (value,)
    if isinstance(value, (list, tuple, set, frozenset)):
        return tuple(value)
    return value


@attrs.frozen
class TaskOptions:
    """Per-task settings, accepted by ``@task(...)`` and ``builder.task(...)``.

    ``retries`` and ``max_attempts`` say the same thing two ways (``max_attempts ==
    retries + 1``); give at most one. ``jitter`` is the fraction (0 to 1) by which each wait
    may be randomly shortened. For process steps, ``asset`` declares a real asset (a function
    of the step's arguments returning assets: the step is ready exactly when they are), and
    ``cache_key``/``cache_ttl`` reuse a result stored by an earlier run (needs a state store).
    ``priority``: among nodes ready at the same time, higher priorities start first (ties in
    definition order). ``resources`` (``{"db": 1}``): how much of each named resource an
    attempt holds while it runs; a run's ``resources=`` limits say how much there is.
    """

    retries: int = 0
    retry_on: tuple[type[BaseException], ...] = attrs.field(
        default=(Exception,), converter=_to_tuple, validator=_check_exceptions
    )
    backoff: Backoff = attrs.field(default=Backoff.NONE, converter=_to_backoff)
    backoff_base: float = 1.0
    backoff_max: float | None = None
    jitter: float = 0.0
    timeout: float | None = None
    executor: Any = attrs.field(default=None, converter=_to_executor)
    description: str | None = None
    asset: Callable[..., Any] | None = attrs.field(default=None, validator=_optional_callable)
    cache_key: Callable[..., str] | None = attrs.field(
        default=None, validator=_optional_callable
    )
    cache_ttl: float | None = None
    priority: int = 0
    always: bool = False
    """A cleanup step: it runs once the steps before it have finished, failed or been
    cancelled (like ``finally``), and never makes its process succeed."""
    resources: tuple[tuple[str, int], ...] = attrs.field(default=(), converter=_to_resources)
    stale_if: str | None = None
    """A freshness trigger (see ``tasktronaut.model.freshness``): ``"newer"`` or
    ``"changed"``; ``None`` keeps iotaa's rule (ready when the assets are)."""

    def __attrs_post_init__(self) -> None:
        _integer("retries", self.retries, at_least_zero=True)
        _integer("priority", self.priority)
        _non_negative("backoff_base", self.backoff_base)
        _non_negative("backoff_max", self.backoff_max)
        _number("jitter", self.jitter)
        _number("timeout", self.timeout, optional=True)
        _number("cache_ttl", self.cache_ttl, optional=True)
        if self.description is not None and not isinstance(self.description, str):
            raise ArgumentError(f"description must be a string, got {self.description!r}",
                                name="description", value=self.description)
        _positive("timeout", self.timeout)
        _positive("cache_ttl", self.cache_ttl)
        if self.stale_if not in (None, "newer", "changed"):
            raise ArgumentError(
                f"stale_if must be 'newer' or 'changed', got {self.stale_if!r}",
                name="stale_if", value=self.stale_if,
            )
        if not 0 <= self.jitter <= 1:
            raise ArgumentError(
                f"jitter must be between 0 and 1, got {self.jitter!r}",
                name="jitter",
                value=self.jitter,
            )

    @property
    def max_attempts(self) -> int:
        """How many times the action may run in all."""
        return self.retries + 1

    def delay(self, attempt: int) -> float:
        """Seconds to wait after attempt ``attempt`` failed, before the next one."""
        if self.backoff is Backoff.NONE:
            return 0.0
        factor = attempt if self.backoff is Backoff.LINEAR else 2 ** (attempt - 1)
        wait = self.backoff_base * factor
        if self.backoff_max is not None:
            wait = min(wait, self.backoff_max)
        if self.jitter:
            import random

            wait *= 1 - random.random() * self.jitter
        return float(wait)

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> TaskOptions:
        """Build options from keyword arguments, accepting ``max_attempts`` for ``retries``.

        No keywords: the one default instance (the engine skips nodes that have it when it
        looks for timeouts, priorities and the like).
        """
        if not kwargs and cls is TaskOptions and "DEFAULT_OPTIONS" in globals():
            return DEFAULT_OPTIONS
        known = {f.name for f in attrs.fields(cls)} | {"max_attempts"}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise ArgumentError(
                f"unknown task option(s): {', '.join(unknown)}; "
                f"expected some of: {', '.join(sorted(known))}",
                name=unknown[0],
            )
        if "max_attempts" in kwargs:
            attempts = kwargs.pop("max_attempts")
            if "retries" in kwargs:
                raise ArgumentError(
                    "give either retries or max_attempts, not both", name="max_attempts"
                )
            if not isinstance(attempts, int) or attempts < 1:
                raise ArgumentError(
                    f"max_attempts must be an integer >= 1, got {attempts!r}",
                    name="max_attempts",
                    value=attempts,
                )
            kwargs["retries"] = attempts - 1
        return cls(**kwargs)

    def merged(self, **overrides: Any) -> TaskOptions:
        """These options with some replaced (``None`` values are ignored)."""
        given = {k: v for k, v in overrides.items() if v is not None}
        if not given:
            return self
        base = {f.name: getattr(self, f.name) for f in attrs.fields(TaskOptions)}
        if "max_attempts" in given:
            base.pop("retries")
        return TaskOptions.from_kwargs(**{**base, **given})


DEFAULT_OPTIONS = TaskOptions()
