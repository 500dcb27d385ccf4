"""``@task``, ``@collection`` and ``@external``: the generator protocol compiled into nodes.

A task function yields, in order, its name, its asset(s) and its requirement(s), then runs its
action. Calling it inside another task function returns a :class:`~tasktronaut.model.Node` and
runs nothing; only the name and assets are read at that moment. The requirements are read
later, and only if the assets are not ready, so the requirements of a ready task are never
even constructed. Calling a task function outside any task builds the graph and runs it.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import pickle
from collections.abc import Callable, Generator
from typing import Any, TypeVar, cast, overload

import attrs

from tasktronaut.define.session import Session, current_session
from tasktronaut.engine import check_settings
from tasktronaut.errors import ArgumentError, CycleError, ProtocolError
from tasktronaut.logs import RunLog, current_log
from tasktronaut.model.assets import Asset
from tasktronaut.model.node import Node, NodeKind, ReqT, check_assets
from tasktronaut.model.options import DEFAULT_OPTIONS, TaskOptions

F = TypeVar("F", bound=Callable[..., Any])
RESERVED = ("dry_run", "threads", "log", "processes", "executor")
OPTIONS_ATTR = "__tasktronaut_options__"
_BUILDING = object()
_COLLECTION, _EXTERNAL = NodeKind.COLLECTION, NodeKind.EXTERNAL


class TaskFunction:
    """A decorated task function. Inside a task, calling it returns a node; outside, it runs.

    ``fn.build(*args, **kwargs)`` builds the graph without running anything; run it later with
    ``node.run(...)``. Reserved keywords of a root call: ``dry_run``, ``threads``, ``log``,
    ``processes`` and ``executor``.
    """

    def __init__(self, func: Callable[..., Generator[Any, Any, Any]], kind: NodeKind,
                 options: TaskOptions = DEFAULT_OPTIONS) -> None:
        functools.update_wrapper(self, func)
        self.__qualname__: str = func.__qualname__
        self.func = func
        self.kind = kind
        self.options = options

    def __call__(self, *args: Any, **kwargs: Any) -> Node:
        session = current_session.get()
        if session is None:
            settings = {k: kwargs.pop(k) for k in RESERVED if k in kwargs}
            check_settings(**settings)
            root = build_root(self, args, kwargs, log=settings.get("log"))
            return root.run(**settings)
        return _call(session, self, args, kwargs)

    def build(self, *args: Any, **kwargs: Any) -> Node:
        """Build the graph rooted at this task with these arguments; run nothing."""
        return build_root(self, args, kwargs)

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        return self if obj is None else BoundTaskFunction(self, obj)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle by reference (module and name), so a worker process imports it."""
        return (_import_task, (self.func.__module__, self.func.__qualname__))

    def remote(self, node: Node) -> RemoteTask:
        """The picklable job that runs ``node``'s action in another process."""
        _, args, kwargs = node.call
        if "<locals>" in self.__qualname__:
            raise ProtocolError(node.taskname, "cannot run in a worker process: its task "
                                "function is defined inside a function; define it at module "
                                "level")
        for where, value in [*enumerate(args), *kwargs.items()]:
            try:
                pickle.dumps(value)
            except Exception as e:
                raise ProtocolError(
                    node.taskname,
                    f"cannot run in a worker process: argument {where!r} ({value!r}) "
                    f"cannot be pickled: {e}",
                ) from None
        return RemoteTask(self, args, kwargs, node.taskname)

    def __repr__(self) -> str:
        return f"<{self.kind.value} {self.func.__module__}.{self.func.__qualname__}>"


class BoundTaskFunction:
    """A task function that is a method, bound to its instance."""

    def __init__(self, function: TaskFunction, obj: Any) -> None:
        self.function = function
        self.obj = obj
        self.__doc__ = function.__doc__

    def __call__(self, *args: Any, **kwargs: Any) -> Node:
        return self.function(self.obj, *args, **kwargs)

    def build(self, *args: Any, **kwargs: Any) -> Node:
        """Build the graph rooted at this task with these arguments; run nothing."""
        return self.function.build(self.obj, *args, **kwargs)

    def __repr__(self) -> str:
        return f"<bound {self.function!r} of {self.obj!r}>"


def build_root(function: TaskFunction, args: tuple[Any, ...], kwargs: dict[str, Any],
               log: Any = None) -> Node:
    """Build (and expand) the graph rooted at ``function(*args, **kwargs)`` in a new session."""
    session = Session(log=RunLog(log))
    root = session.build(lambda: _call(session, function, args, kwargs))
    root._rebuild = functools.partial(build_root, function, args, kwargs, log)
    return root


def _call(session: Session, function: TaskFunction, args: tuple[Any, ...],
          kwargs: dict[str, Any]) -> Node:
    """Read a task function up to its assets and return its node (or the one of that name).

    This runs once per task per build, so the common path calls no helpers.
    """
    gen = function.func(*args, **kwargs)
    try:
        name = next(gen)
    except StopIteration:
        raise ProtocolError(function.__qualname__, "stopped before yielding its name") from None
    if type(name) is not str:
        gen.close()
        raise ProtocolError(function.__qualname__,
                            f"the first yield must be the task name (a str), got {name!r}")
    registry = session.registry
    rep: Node | None = registry.get(name)
    if rep is not None:
        gen.close()
        if rep is _BUILDING:
            raise CycleError([name, name])
        if rep.call is not None and rep.call[0] is not function:
            _warn_same_name(session, rep, function)
        return rep
    kind = function.kind
    if kind is _COLLECTION:
        node = Node(name, kind, None, DEFAULT_OPTIONS, None, None, gen, None, _requirements,
                    (function, args, kwargs))
    else:
        registry[name] = _BUILDING
        try:
            assets = next(gen)
            if type(assets) is not Asset:
                check_assets(assets, name)
        except BaseException as e:
            del registry[name]
            gen.close()
            if isinstance(e, StopIteration):
                raise ProtocolError(name, "stopped before yielding asset(s)") from None
            raise
        if kind is _EXTERNAL:
            gen.close()
            node = Node(name, kind, assets, DEFAULT_OPTIONS, None, None, None, None, None,
                        (function, args, kwargs))
        else:
            node = Node(name, kind, assets, function.options, None, None, gen, _action,
                        _requirements, (function, args, kwargs))
    node._session = session
    registry[name] = node
    return node


def _warn_same_name(session: Session, rep: Node, function: TaskFunction) -> None:
    name = rep.taskname
    other = rep.call[0]
    if name not in session.warned and isinstance(other, TaskFunction):
        session.warned.add(name)
        session.log.warning(
            f"Task name '{name}' is yielded by two different task functions "
            f"({other.__qualname__} and {function.__qualname__}); they are treated as one task"
        )


def _next(gen: Generator[Any, Any, Any], task: str, what: str) -> Any:
    try:
        return next(gen)
    except StopIteration:
        raise ProtocolError(task, f"stopped before yielding {what}; check its yields") from None


def _requirements(node: Node) -> ReqT:
    """Advance a task function past its assets to its requirement(s)."""
    gen = node._gen
    if gen is None:
        return None
    if current_session.get() is node._session:
        try:
            req: ReqT = next(gen)
            return req
        except StopIteration:
            raise ProtocolError(node.taskname, "stopped before yielding requirement(s)") from None
    return cast(ReqT, _in_session(node, _next, gen, node.taskname, "requirement(s)"))


def _action(node: Node) -> None:
    """Run a task's action: the task function's code after its last yield.

    A ``for`` loop drives the generator to its end without raising ``StopIteration``, which
    is measurably cheaper than ``next()``; an asset task's outcome is its assets, so the
    generator's return value is not kept.
    """
    gen = node._gen
    if gen is None:
        gen = _fresh_generator(node)
    node._gen = None
    for _ in gen:
        gen.close()
        raise ProtocolError(node.taskname, "yielded again after its requirement(s)")


def _fresh_generator(node: Node) -> Generator[Any, Any, Any]:
    """Call the task function again and advance it to its action (used by retries).

    The fresh call's assets replace the node's: an asset held in memory (``Asset(box,
    lambda: bool(box))``) is the new call's object, the one its action fills."""
    function, args, kwargs = node.call
    gen: Generator[Any, Any, Any] = function.func(*args, **kwargs)
    _next(gen, node.taskname, "its name")
    node._asset = check_assets(_next(gen, node.taskname, "asset(s)"), node.taskname)
    _next(gen, node.taskname, "requirement(s)")
    return gen


def _advanced(function: TaskFunction, args: tuple[Any, ...], kwargs: dict[str, Any],
              name: str) -> Generator[Any, Any, Any]:
    gen: Generator[Any, Any, Any] = function.func(*args, **kwargs)
    for what in ("its name", "asset(s)", "requirement(s)"):
        _next(gen, name, what)
    return gen


def _import_task(module: str, qualname: str) -> Any:
    target: Any = importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


@attrs.frozen
class RemoteTask:
    """An asset task's action, sent to a worker process by reference.

    In the worker the task function is called afresh (its requirements become nodes of a
    private graph, nothing else runs) and its action runs; readiness is checked back in the
    parent, so such tasks need assets the parent can observe (files, databases).
    """

    function: TaskFunction
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    name: str

    def __call__(self) -> None:
        session = Session(log=current_log.get() or RunLog())
        token = current_session.set(session)
        try:
            gen = _advanced(self.function, self.args, self.kwargs, self.name)
            for _ in gen:
                gen.close()
                raise ProtocolError(self.name, "yielded again after its requirement(s)")
        finally:
            current_session.reset(token)


def _in_session(node: Node, fn: Callable[..., Any], *args: Any) -> Any:
    """Call ``fn`` with the node's session current, so nested task calls join its graph."""
    session = node._session
    if session is None or current_session.get() is session:
        return fn(*args)
    token = current_session.set(session)
    try:
        return fn(*args)
    finally:
        current_session.reset(token)


@overload
def task(func: F, /) -> F: ...


@overload
def task(func: None = None, /, **options: Any) -> Callable[[F], F]: ...


def task(func: Any = None, /, **options: Any) -> Any:
    """Declare a task: a generator yielding name, asset(s), requirement(s), then acting.

    Takes options (``@task(retries=2, timeout=30, executor="process", description=...)``). On
    a plain function or method (not a generator) it only attaches the options: calling the
    function still just calls it, which keeps process steps easy to unit-test.
    """
    opts = TaskOptions.from_kwargs(**options)

    def decorate(f: Any) -> Any:
        if not callable(f):
            raise TypeError(f"@task decorates functions, got {f!r}")
        if inspect.isgeneratorfunction(f):
            for name in ("asset", "cache_key", "cache_ttl"):
                if getattr(opts, name) is not None:
                    raise ArgumentError(
                        f"@task({name}=...) applies to process steps; the asset task "
                        f"{f.__qualname__} declares its assets by yielding them",
                        name=name,
                    )
            return TaskFunction(f, NodeKind.TASK, opts)
        setattr(f, OPTIONS_ATTR, opts)
        return f

    return decorate(func) if func is not None else decorate


def collection(func: Callable[..., Generator[Any, Any, Any]]) -> Any:
    """Declare a collection: a generator yielding its name, then the tasks it gathers.

    A collection is ready when all its requirements are; it has no action of its own.
    """
    return TaskFunction(_generator(func, "collection"), NodeKind.COLLECTION)


def external(func: Callable[..., Generator[Any, Any, Any]]) -> Any:
    """Declare an external asset: a generator yielding its name, then its asset(s).

    Nothing in the workflow can make it ready; it only reports whether it is.
    """
    return TaskFunction(_generator(func, "external"), NodeKind.EXTERNAL)


def _generator(func: Any, decorator: str) -> Any:
    if not inspect.isgeneratorfunction(func):
        raise TypeError(f"@{decorator} needs a generator function, got {func!r}")
    return func


def tasknames(obj: object) -> list[str]:
    """The names of the public task functions found on ``obj`` (e.g. a module), sorted."""
    return sorted(
        name for name in dir(obj)
        if not name.startswith("_") and isinstance(getattr(obj, name, None), TaskFunction)
    )


def options_of(func: Any) -> TaskOptions | None:
    """The options ``@task(...)`` attached to a plain function or method, if any."""
    target = getattr(func, "__func__", func)
    opts = getattr(target, OPTIONS_ATTR, None)
    if opts is None and isinstance(target, TaskFunction):
        return target.options
    return opts

