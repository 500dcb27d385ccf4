"""Type aliases kept from tasktronaut 0.3, for annotations in process definitions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Optional, Protocol, TypeAlias, TypeVar, Union

if TYPE_CHECKING:
    from tasktronaut.define.builder import Builder
    from tasktronaut.define.process import ProcessDefinition
    from tasktronaut.define.steps import Context

__all__ = [
    "BuilderIterator",
    "DecoratedTaskMethod",
    "Description",
    "ForEachMethod",
    "ForEachReturn",
    "Options",
    "ProcessDefinitionType",
    "TaskArgs",
    "TaskMethod",
    "TransformMethod",
    "UndecoratedTaskMethod",
    "Value",
]

UndecoratedTaskMethod: TypeAlias = Callable[..., Any]


class DecoratedTaskMethod(Protocol):
    """A step method decorated with ``@task(description=...)``."""

    __name__: str
    description: Optional[str]  # noqa: UP045 (the 0.3 spelling)

    def __call__(self, *args: Any, context: Optional[Context] = None,  # noqa: UP045
                 **kwargs: Any) -> Any: ...


TaskMethod: TypeAlias = Union[UndecoratedTaskMethod, DecoratedTaskMethod]  # noqa: UP007
Description: TypeAlias = Optional[str]  # noqa: UP045
TaskArgs: TypeAlias = Union[dict[str, Any], tuple[dict[str, Any], Description]]  # noqa: UP007
ForEachReturn: TypeAlias = Iterator[TaskArgs]
ForEachMethod: TypeAlias = Callable[..., ForEachReturn]
TransformMethod: TypeAlias = Callable[..., TaskArgs]
BuilderIterator: TypeAlias = Iterator["Builder"]
ProcessDefinitionType: TypeAlias = type["ProcessDefinition"]
Options: TypeAlias = Union[SimpleNamespace, dict[str, Any]]  # noqa: UP007
Value = TypeVar("Value")
