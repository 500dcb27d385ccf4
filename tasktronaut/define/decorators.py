"""``@task``, ``@collection`` and ``@external``: the generator protocol compiled into nodes.

A task function yields, in order, its name, its asset(s) and its requirement(s), then runs its
action. Calling it inside another task function returns a :class:`~tasktronaut.model.Node` and
runs nothing; only the name and assets are read at that moment. The requirements are read
later, and only if the assets are not ready, so the requirements of a ready task are never
even constructed. Calling a task function outside any task builds the graph and runs it.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
import sys
from collections.abc import Callable, Generator, Iterator
from types import FrameType
from typing import Any, Generic, ParamSpec, Protocol, TypeVar, cast, overload

import attrs

from tasktronaut.define.asynctasks import sync_face
from tasktronaut.define.protocol import (
    advanced,
    check_yields,
    read_requirements,
    run_action,
    run_async_action,
)
from tasktronaut.define.protocol import count_yields as count_yields  # (re-exported)
from tasktronaut.define.session import Session, current_session
from tasktronaut.define.signature import annotate
from tasktronaut.errors import ArgumentError, CycleError, ProtocolError, TasktronautError
from tasktronaut.logs import RunLog, current_log
from tasktronaut.model.assets import Asset
from tasktronaut.model.node import Node, NodeKind, check_assets
from tasktronaut.model.options import DEFAULT_OPTIONS, ExecutorKind, TaskOptions

F = TypeVar("F", bound=Callable[..., Any])
P = ParamSpec("P")
TaskGen = Iterator[Any]
"""What a task function returns when called: a generator (typed loosely, as users write
``-> Iterator[...]`` or ``-> Generator[...]``)."""
RESERVED = ("dry_run", "threads", "log", "processes", "executor")
OPTIONS_ATTR = "__tasktronaut_options__"
_BUILDING = object()
_NO_KWARGS: dict[str, Any] = {}
_COLLECTION, _EXTERNAL = NodeKind.COLLECTION, NodeKind.EXTERNAL


class TaskFunction(Generic[P]):
    """A decorated task function. Inside a task, calling it returns a node; outside, it runs.

    ``fn.build(*args, **kwargs)`` builds the graph without running anything; run it later with
    ``node.run(...)``. Reserved keywords of a root call: ``dry_run``, ``threads``, ``log``,
    ``processes`` and ``executor``.
    """

    def __init__(self, func: Callable[P, TaskGen], kind: NodeKind,
                 options: TaskOptions = DEFAULT_OPTIONS) -> None:
        functools.update_wrapper(self, func)
        self.__qualname__: str = func.__qualname__
        self.kind = kind
        self.options = options
        self.shared: bool | None = False
        """Whether calls with the same arguments were seen again (then they are memoised;
        ``None``: never, its arguments cannot be hashed)."""
        self.action: Callable[[Node], Any] = run_action
        if inspect.isasyncgenfunction(func):  # an async task: its action is awaited
            func = functools.wraps(func)(sync_face(func))
            self.action = run_async_action
        self.func = cast(Callable[..., Generator[Any, Any, Any]], func)

    def __call__(self, *args: Any, **kwargs: Any) -> Node:
        session = current_session.get()
        if session is None:
            from tasktronaut.engine import check_settings  # only when a run starts

            settings = {k: kwargs.pop(k) for k in RESERVED if k in kwargs}
            check_settings(**settings)
            root = build_root(self, args, kwargs, log=settings.get("log"))
            return root.run(**settings)
        if not session.building:  # a graph runs: called in an action
            _warn_called_in_action(session, self)
        if kwargs:
            return _call(session, self, args, kwargs)
        if not self.shared:
            return _call(session, self, args, _NO_KWARGS)  # (no empty dict kept per node)
        # A graph may refer to a task by calling its function again (a layered graph, about
        # three times per node). Once a function was seen doing that, the same arguments
        # give the node they gave before without running the function up to its name.
        memo = session.memo.get(self)
        if memo is None:
            memo = session.memo[self] = {}
        try:
            node: Node | None = memo.get(args)
        except TypeError:  # an unhashable argument: this function is never memoised
            self.shared = None
            return _call(session, self, args, _NO_KWARGS)
        if node is None:
            node = memo[args] = _call(session, self, args, _NO_KWARGS)
        return node

    def build(self, *args: P.args, **kwargs: P.kwargs) -> Node:
        """Build the graph rooted at this task with these arguments; run nothing."""
        return build_root(self, args, kwargs)

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        return self if obj is None else BoundTaskFunction(self, obj)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle by reference (module and name), so a worker process imports it."""
        return (_import_task, (self.func.__module__, self.func.__qualname__))

    def remote(self, node: Node) -> RemoteTask:
        """The picklable job that runs ``node``'s action in another process."""
        import pickle  # only runs in worker processes need it

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

    def __init__(self, function: TaskFunction[...], obj: Any) -> None:
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


def build_root(function: TaskFunction[...], args: tuple[Any, ...], kwargs: dict[str, Any],
               log: Any = None) -> Node:
    """Build (and expand) the graph rooted at ``function(*args, **kwargs)`` in a new session.

    Without ``log``, a graph built inside a run (a nested run) logs where that run does.
    """
    session = Session(log=RunLog(log) if log is not None else current_log.get() or RunLog())
    root = session.build(lambda: _call(session, function, args, kwargs))
    root._rebuild = functools.partial(build_root, function, args, kwargs, log)
    return root


def _call(session: Session, function: TaskFunction[...], args: tuple[Any, ...],
          kwargs: dict[str, Any]) -> Node:
    """Read a task function up to its assets and return its node (or the one of that name).

    This runs once per task per build, so the common path (a new task) calls no helpers;
    the rare ones (errors, a known name, collections, externals) are below.
    """
    gen = function.func(*args, **kwargs)
    try:
        name = next(gen)
    except Exception as e:
        _no_name(function, e)  # raises a ProtocolError if it stopped; else annotates
        raise
    if type(name) is not str:
        raise _not_a_name(gen, function, name)
    registry = session.registry
    rep: Node | None = registry.get(name)
    if rep is not None:
        gen.close()
        return _known(session, function, kwargs, rep, name)
    kind = function.kind
    if kind is _COLLECTION:
        node = _collection(gen, function, args, kwargs, name)
    else:
        registry[name] = _BUILDING
        try:
            assets = next(gen)
            if type(assets) is not Asset:
                check_assets(assets, name)
        except BaseException as e:
            _no_assets(registry, gen, name, e)  # raises a ProtocolError if it stopped
            raise
        if kind is _EXTERNAL:
            node = _external(gen, function, args, kwargs, name, assets)
        else:
            node = Node(name, kind, assets, function.options, None, None, gen,
                        function.action, read_requirements, (function, args, kwargs))
    node._session = session
    registry[name] = node
    return node


def _collection(gen: Generator[Any, Any, Any], function: TaskFunction[...],
                args: tuple[Any, ...], kwargs: dict[str, Any], name: str) -> Node:
    """A collection's node: no assets of its own, its requirements read later."""
    return Node(name, _COLLECTION, None, DEFAULT_OPTIONS, None, None, gen, None,
                read_requirements, (function, args, kwargs))


def _external(gen: Generator[Any, Any, Any], function: TaskFunction[...],
              args: tuple[Any, ...], kwargs: dict[str, Any], name: str, assets: Any) -> Node:
    """An external asset's node: only its assets; its generator is done with."""
    gen.close()
    return Node(name, _EXTERNAL, assets, DEFAULT_OPTIONS, None, None, None, None, None,
                (function, args, kwargs))


def _no_name(function: TaskFunction[...], error: Exception) -> None:
    """A task function raised before yielding its name: a protocol error if it just stopped,
    else its error, annotated with where it happened (for the caller to re-raise)."""
    if isinstance(error, StopIteration):
        raise ProtocolError(function.__qualname__, "stopped before yielding its name") from None
    annotate(error, f"in task function {function.__qualname__}, before it yielded its name")


def _not_a_name(gen: Generator[Any, Any, Any], function: TaskFunction[...],
                name: Any) -> ProtocolError:
    """The error for a first yield that is not a name (the generator is closed)."""
    gen.close()
    return ProtocolError(function.__qualname__,
                         f"the first yield must be the task name (a str), got {name!r}")


def _known(session: Session, function: TaskFunction[...], kwargs: dict[str, Any], rep: Any,
           name: str) -> Node:
    """The node already built for a name a task function yielded again (a cycle if it is
    still being read)."""
    if rep is _BUILDING:
        raise CycleError([name, name])
    if rep.call is not None and rep.call[0] is not function:
        _warn_same_name(session, rep, function)
    elif not kwargs and function.shared is False:
        function.shared = True  # referred to again: memoise its calls from now on
    return cast(Node, rep)


def _no_assets(registry: dict[str, Any], gen: Generator[Any, Any, Any], name: str,
               error: BaseException) -> None:
    """A task raised (or stopped) before yielding valid asset(s): forget it, close it, and
    raise a protocol error if it just stopped, else annotate its error (for the caller to
    re-raise)."""
    del registry[name]
    gen.close()
    if isinstance(error, StopIteration):
        raise ProtocolError(name, "stopped before yielding asset(s)") from None
    if isinstance(error, Exception) and not isinstance(error, TasktronautError):
        annotate(error, f"in task '{name}', before it yielded its asset(s)")


def _warn_called_in_action(session: Session, function: TaskFunction[...]) -> None:
    """Calling a task function in an action builds a node nobody runs: say so, naming the
    task whose action it is (found from the calling frames; this path is rare)."""
    frame: FrameType | None = sys._getframe(2)
    acting = "a task"
    for _ in range(20):
        if frame is None:
            break
        name = _task_of_frame(session, frame)
        if name is not None:
            acting = name
            break
        frame = frame.f_back
    session.log.warning(
        f"{acting}: called the task function {function.__qualname__} inside its action, "
        "where it does not run; yield it as a requirement instead"
    )


def _task_of_frame(session: Session, frame: FrameType) -> str | None:
    """The name of the task whose task function ``frame`` runs, with these arguments."""
    for node in session.registry.values():
        call = getattr(node, "call", None)
        if not isinstance(call, tuple):
            continue
        original = getattr(call[0].func, "__wrapped__", call[0].func)
        if getattr(original, "__code__", None) is not frame.f_code:
            continue
        try:
            bound = inspect.signature(original).bind(*call[1], **call[2]).arguments
        except TypeError:
            continue
        if all(frame.f_locals.get(k, _BUILDING) is v for k, v in bound.items()):
            return str(node.taskname)
    return None


def _warn_same_name(session: Session, rep: Node, function: TaskFunction[...]) -> None:
    name = rep.taskname
    other = rep.call[0]
    if name not in session.warned and isinstance(other, TaskFunction):
        session.warned.add(name)
        session.log.warning(
            f"Task name '{name}' is yielded by two different task functions "
            f"({other.__qualname__} and {function.__qualname__}); they are treated as one task"
        )


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

    function: TaskFunction[...]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    name: str

    def __call__(self) -> None:
        session = Session(log=current_log.get() or RunLog(), building=True)
        token = current_session.set(session)
        try:
            gen = advanced(self.function, self.args, self.kwargs, self.name)
            for _ in gen:
                gen.close()
                raise ProtocolError(self.name, "yielded again after its requirement(s)")
        finally:
            current_session.reset(token)


class _TaskDecorator(Protocol):
    """What ``@task(...)`` with options returns, typed like ``@task`` itself."""

    @overload
    def __call__(self, func: Callable[P, TaskGen], /) -> TaskFunction[P]: ...

    @overload
    def __call__(self, func: F, /) -> F: ...


@overload
def task(func: Callable[P, TaskGen], /) -> TaskFunction[P]: ...


@overload
def task(func: F, /) -> F: ...


@overload
def task(func: None = None, /, **options: Any) -> _TaskDecorator: ...


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
        if inspect.isgeneratorfunction(f) or inspect.isasyncgenfunction(f):
            check_yields(f, "task")
            for name in ("asset", "cache_key", "cache_ttl"):
                if getattr(opts, name) is not None:
                    raise ArgumentError(
                        f"@task({name}=...) applies to process steps; the asset task "
                        f"{f.__qualname__} declares its assets by yielding them",
                        name=name,
                    )
            return TaskFunction(f, NodeKind.TASK, _async_options(f, opts))
        setattr(f, OPTIONS_ATTR, opts)
        with contextlib.suppress(AttributeError, TypeError):
            f.description = opts.description  # as tasktronaut 0.3 did
        return f

    return decorate(func) if func is not None else decorate


def _async_options(func: Any, options: TaskOptions) -> TaskOptions:
    """An async task runs on the run's event loop, and nowhere else."""
    if not inspect.isasyncgenfunction(func):
        return options
    if options.executor not in (None, ExecutorKind.ASYNC):
        raise ArgumentError(
            f"the async task {func.__qualname__} runs on the run's event loop; it cannot "
            f"take executor={getattr(options.executor, 'value', options.executor)!r}",
            name="executor", value=options.executor)
    return options.merged(executor="async")


def collection(func: Callable[P, TaskGen]) -> TaskFunction[P]:
    """Declare a collection: a generator yielding its name, then the tasks it gathers.

    A collection is ready when all its requirements are; it has no action of its own.
    """
    return TaskFunction(_generator(func, "collection"), NodeKind.COLLECTION)


def external(func: Callable[P, TaskGen]) -> TaskFunction[P]:
    """Declare an external asset: a generator yielding its name, then its asset(s).

    Nothing in the workflow can make it ready; it only reports whether it is.
    """
    return TaskFunction(_generator(func, "external"), NodeKind.EXTERNAL)


def _generator(func: Any, decorator: str) -> Any:
    if not inspect.isgeneratorfunction(func):
        raise TypeError(f"@{decorator} needs a generator function, got {func!r}")
    check_yields(func, decorator)
    return func


def tasknames(obj: object) -> list[str]:
    """The names of the public task functions found on ``obj`` (e.g. a module), sorted."""
    return sorted(
        name for name in dir(obj)
        if not name.startswith("_") and isinstance(found := getattr(obj, name, None), TaskFunction)
        and not getattr(found.func, "__isabstractmethod__", False)
    )


def options_of(func: Any) -> TaskOptions | None:
    """The options ``@task(...)`` attached to a plain function or method, if any."""
    target = getattr(func, "__func__", func)
    opts = getattr(target, OPTIONS_ATTR, None)
    if opts is None and isinstance(target, TaskFunction):
        return target.options
    return opts

