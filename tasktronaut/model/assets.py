"""Assets: observable state a task is responsible for, and how readiness is observed.

An ``Asset`` is created once or twice per task on the build's hot path, so it is a
hand-written slotted class rather than an attrs one: about a third of the cost per instance
(no frozen ``__setattr__`` indirection, no validator call), with the same equality, hash and
immutability.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Union

from tasktronaut.errors import TasktronautError


class Asset:
    """Observable state a task is responsible for: ``ref`` names it, ``ready()`` observes it.

    ``ref`` is any value that identifies the state (a path, a URI, a timestamp); ``ready`` is
    a function of no arguments that says whether the state is there.
    """

    __slots__ = ("ready", "ref")

    ref: Any
    ready: Callable[[], bool]

    def __init__(self, ref: Any, ready: Callable[[], bool]) -> None:
        if not callable(ready):
            raise TasktronautError(
                f"Asset ready must be a callable returning bool, got {ready!r}"
            )
        object.__setattr__(self, "ref", ref)
        object.__setattr__(self, "ready", ready)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Asset is immutable; cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Asset is immutable; cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        if type(other) is not Asset:
            return NotImplemented
        return self.ref == other.ref and self.ready == other.ready

    def __hash__(self) -> int:
        return hash((self.ref, self.ready))

    def __repr__(self) -> str:
        return f"Asset({self.ref!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Asset, (self.ref, self.ready))


AssetT = Union[Asset, list[Asset], dict[str, Asset], None]  # noqa: UP007


def observe(value: AssetT) -> bool:
    """Whether all the assets in ``value`` are ready (a single asset takes the short path)."""
    if type(value) is Asset:
        return bool(value.ready())
    return all(a.ready() for a in flatten_assets(value))


def flatten_assets(value: AssetT) -> tuple[Asset, ...] | list[Asset]:
    """The assets in ``value`` as a flat sequence."""
    if value is None:
        return ()
    if isinstance(value, Asset):
        return (value,)
    if isinstance(value, dict):
        return list(value.values())
    return value
