"""Processes: class-based workflow definitions, their lifecycle hooks and the step Context.

A :class:`ProcessDefinition` describes its flow in ``define_process(builder)``; the builder
compiles it into ordinary graph nodes (see :mod:`tasktronaut.define.builder`), so a process
runs on the same engine as asset tasks and mixes with them freely. What exists while a process
runs (per-process state, the step ``Context``) is in :mod:`tasktronaut.define.steps`.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import attrs

from tasktronaut.define.builder import build_process
from tasktronaut.define.reading import probe_expected_arguments
from tasktronaut.define.steps import Context, ExecutionMode
from tasktronaut.define.views import GeneratedId
from tasktronaut.logs import log
from tasktronaut.model.node import Node

__all__ = ["Context", "ExecutionMode", "ProcessDefinition"]

@functools.cache
def run_settings() -> tuple[frozenset[str], frozenset[str]]:
    """Keywords ``Definition.run(...)`` takes as run settings (those of ``Node.run``), never
    as process arguments; and those checked before the build. (The engine is imported on
    first use: importing the package stays cheap.)"""
    from tasktronaut.engine import RunSettings
    from tasktronaut.engine import run as engine_run

    names = frozenset(name for name, p in inspect.signature(engine_run).parameters.items()
                      if p.kind is inspect.Parameter.KEYWORD_ONLY)
    return names, frozenset(attrs.fields_dict(RunSettings)) | {"log"}
_CLASS_API = ("build", "run", "expected_types")


class _ClassAPI:
    """Keeps a class-level API name usable when a definition also has a step of that name.

    ``Definition.run(...)`` (through the class) is the shortcut; ``self.run`` (through an
    instance, as ``define_process`` uses it) is the user's own step. A classmethod of that
    name is an override of the API itself and is left alone.
    """

    def __init__(self, api: Any, own: Any) -> None:
        self.api = api
        self.own = own

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return self.api.__get__(None, objtype)
        getter = getattr(self.own, "__get__", None)
        return getter(obj, objtype) if getter is not None else self.own


def _without_context(hook: Any) -> bool:
    """Whether an ``around_task`` override takes 0.3's three arguments (no ``context``)."""
    try:
        params = list(inspect.signature(hook).parameters.values())[1:]
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (inspect.Parameter.POSITIONAL_ONLY,
                                                  inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    variadic = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params)
    return len(positional) == 3 and not variadic and "context" not in {p.name for p in params}


def _dropping_context(hook: Any) -> Any:
    """Adapt a three-argument ``around_task`` to the engine's call with a context."""

    @functools.wraps(hook)
    def around_task(self: Any, identifier: Any, step: str, description: str,
                    context: Any = None) -> Any:
        return hook(self, identifier, step, description)

    return around_task


class ProcessDefinition:
    """Subclass this and implement :meth:`define_process` to describe a process.

    Set ``process_execution_mode`` (or its alias ``execution_mode``) to choose whether the
    top-level steps run one after another or side by side, and ``description`` to name the
    process in logs. Override the ``on_*`` hooks and :meth:`around_task` to observe a run.

    The class-level API (``build``, ``run``, ``expected_types``) stays out of the way of
    steps and attributes of the same names: a step named ``run`` is still ``self.run`` inside
    the definition, while ``Definition.run(...)`` still runs the process.
    """

    __tasktronaut_process__: ClassVar[bool] = True
    process_execution_mode: ClassVar[ExecutionMode] = ExecutionMode.SEQUENTIAL
    description: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in _CLASS_API:
            own = cls.__dict__.get(name)
            if own is not None and not isinstance(own, (_ClassAPI, classmethod, staticmethod)):
                setattr(cls, name, _ClassAPI(ProcessDefinition.__dict__[name], own))
        around = cls.__dict__.get("around_task")
        if around is not None and _without_context(around):
            cls.around_task = _dropping_context(around)  # type: ignore[method-assign]

    def define_process(self, builder: Any) -> None:
        """Describe the process with ``builder`` (a :class:`~tasktronaut.Builder`)."""
        raise NotImplementedError(f"{type(self).__name__} must implement define_process()")

    @classmethod
    def build(cls, identifier: str | None = None, options: Any = None, **kwargs: Any) -> Node:
        """Compile the process into graph nodes and return its root; nothing runs.

        ``options`` is a dict (or a ``SimpleNamespace``); without an ``identifier`` one is
        generated (``uuid4().hex``, as tasktronaut 0.3 did) for the hooks and the context.
        The root also shows 0.3's ``steps`` list.
        """
        return build_process(cls, identifier, options, kwargs)

    @classmethod
    def run(cls, identifier: str | None = None, options: Any = None, **kwargs: Any) -> Node:
        """Build the process and run it; return the root node (``.ready`` tells the outcome).

        The settings :meth:`Node.run` takes (``threads``, ``processes``, ``executor``,
        ``dry_run``, ``log``, ``fail_fast``, ``state``, ...) go to the run, and are checked
        before anything is built; every other keyword is a process argument.
        """
        root, settings = cls._built_for_run(identifier, options, kwargs)
        return root.run(**settings)

    @classmethod
    def submit(cls, identifier: str | None = None, options: Any = None, *, backend: Any = None,
               state: Any = None, settings: dict[str, Any] | None = None,
               **kwargs: Any) -> Any:
        """Queue a run and return its handle at once (see :mod:`tasktronaut.background`)."""
        from tasktronaut.background import submit

        return submit(cls, identifier=identifier, options=options, backend=backend,
                      state=state, settings=settings, **kwargs)

    @classmethod
    def schedule(cls, *, every: float | None = None, cron: str | None = None, at: Any = None,
                 **kwargs: Any) -> Any:
        """Add a schedule that workers follow (see :func:`tasktronaut.background.schedule`)."""
        from tasktronaut.background import schedule

        return schedule(cls, every=every, cron=cron, at=at, **kwargs)

    @classmethod
    async def arun(cls, identifier: str | None = None, options: Any = None,
                   **kwargs: Any) -> Node:
        """:meth:`run` for applications on asyncio: ``await Definition.arun(...)`` (see
        :meth:`Node.arun`: async steps run on the caller's event loop)."""
        root, settings = cls._built_for_run(identifier, options, kwargs)
        return await root.arun(**settings)

    @classmethod
    def _built_for_run(cls, identifier: str | None, options: Any,
                       kwargs: dict[str, Any]) -> tuple[Node, dict[str, Any]]:
        """The settings taken apart from the process arguments and checked, then the build."""
        from tasktronaut.engine import check_settings

        names, checked = run_settings()
        settings = {k: kwargs.pop(k) for k in names if k in kwargs}
        check_settings(**{k: v for k, v in settings.items() if k in checked})
        return build_process(cls, identifier, options, kwargs), settings

    @classmethod
    def expected_types(cls, options: dict[str, Any] | None = None) -> dict[str, Any]:
        """The arguments ``define_process`` declares with ``expected_arguments``."""
        return probe_expected_arguments(cls, options)

    def on_started(self, identifier: str | None) -> None:
        """Called once, when the first step of this process starts."""
        log.info("%s: Started", self.__label(identifier))

    @contextmanager
    def around_task(self, identifier: str | None, step: str, description: str,
                    context: Context | None = None) -> Iterator[None]:
        """Wraps every step of this process (a context manager)."""
        yield

    around_task.__tasktronaut_default__ = True  # type: ignore[attr-defined]

    def on_completed(self, identifier: str | None) -> None:
        """Called once, when every step of this process has completed."""
        log.info("%s: Completed", self.__label(identifier))

    def on_failed(self, identifier: str | None, step: str, e: BaseException) -> None:
        """Called once per failed step, after its last attempt, with its last error ``e``."""
        text = str(e).strip().splitlines()
        detail = text[0] if text else type(e).__name__
        log.error("%s: Step %s failed: %s", self.__label(identifier), step, detail)

    def on_cancelled(self, identifier: str | None) -> None:
        """Called once when the process is cancelled (a step raised ``CancelProcessError``)."""
        log.warning("%s: Cancelled", self.__label(identifier))

    def __label(self, identifier: str | None) -> str:
        name = type(self).description or type(self).__name__
        shown = identifier and not isinstance(identifier, GeneratedId)
        return f"{name} [{identifier}]" if shown else name
