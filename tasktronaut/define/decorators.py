"""``@task``, ``@collection`` and ``@external``: the generator protocol compiled into nodes.

A task function yields, in order, its name, its asset(s) and its requirement(s), then runs its
action. Calling it inside another task function returns a :class:`~tasktronaut.model.Node` and
runs nothing; only the name and assets are read at that moment. The requirements are read
later, and only if the assets are not ready, so the requirements of a ready task are never
even constructed. Calling a task function outside any task builds the graph and runs it.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import importlib
import inspect
import linecache
import pickle
import sys
from collections.abc import Callable, Generator, Iterator
from types import FrameType
from typing import Any, Generic, ParamSpec, Protocol, TypeVar, cast, overload

import attrs

from tasktronaut.define.asynctasks import AsyncTaskGen, sync_face
from tasktronaut.define.session import Session, current_session
from tasktronaut.define.signature import annotate
from tasktronaut.errors import ArgumentError, CycleError, ProtocolError, TasktronautError
from tasktronaut.logs import RunLog, current_log
from tasktronaut.model.assets import Asset
from tasktronaut.model.node import Node, NodeKind, ReqT, check_assets
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
        self.action: Callable[[Node], Any] = _action
        if inspect.isasyncgenfunction(func):  # an async task: its action is awaited
            func = functools.wraps(func)(sync_face(func))
            self.action = _async_action
        self.func = cast(Callable[..., Generator[Any, Any, Any]], func)

    def __call__(self, *args: Any, **kwargs: Any) -> Node:
        session = current_session.get()
        if session is None:
            from tasktronaut.engine import check_settings  # only when a run starts

            settings = {k: kwargs.pop(k) for k in RESERVED if k in kwargs}
            check_settings(**settings)
            root = build_root(self, args, kwargs, log=settings.get("log"))
            return root.run(**settings)
        if not getattr(session, "building", True):  # a graph runs: called in an action
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

    This runs once per task per build, so the common path calls no helpers.
    """
    gen = function.func(*args, **kwargs)
    try:
        name = next(gen)
    except StopIteration:
        raise ProtocolError(function.__qualname__, "stopped before yielding its name") from None
    except Exception as e:
        annotate(e, f"in task function {function.__qualname__}, before it yielded its name")
        raise
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
        elif not kwargs and function.shared is False:
            function.shared = True  # referred to again: memoise its calls from now on
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
            if isinstance(e, Exception) and not isinstance(e, TasktronautError):
                annotate(e, f"in task '{name}', before it yielded its asset(s)")
            raise
        if kind is _EXTERNAL:
            gen.close()
            node = Node(name, kind, assets, DEFAULT_OPTIONS, None, None, None, None, None,
                        (function, args, kwargs))
        else:
            node = Node(name, kind, assets, function.options, None, None, gen,
                        function.action, _requirements, (function, args, kwargs))
    node._session = session
    registry[name] = node
    return node


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
    session = node._session
    if current_session.get() is session:
        building, session.building = session.building, True  # (lazily, during a run)
        try:
            req: ReqT = next(gen)
            return req
        except StopIteration:
            raise ProtocolError(node.taskname, "stopped before yielding requirement(s)") from None
        except TasktronautError:
            raise
        except Exception as e:
            annotate(e, f"in task '{node.taskname}', before it yielded its requirement(s)")
            raise
        finally:
            session.building = building
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


def _async_action(node: Node) -> Any:
    """An async task's action: a coroutine the engine awaits on the run's event loop."""
    gen = node._gen
    if gen is None:
        gen = _fresh_generator(node)
    node._gen = None
    return cast(AsyncTaskGen, gen).act(node.taskname)


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


def _advanced(function: TaskFunction[...], args: tuple[Any, ...], kwargs: dict[str, Any],
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

    function: TaskFunction[...]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    name: str

    def __call__(self) -> None:
        session = Session(log=current_log.get() or RunLog(), building=True)
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
    building, session.building = session.building, True
    try:
        return fn(*args)
    finally:
        session.building = building
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


_NEEDED = {"task": (3, "its name, its asset(s) and its requirement(s)"),
           "collection": (2, "its name and its requirement(s)"),
           "external": (2, "its name and its asset(s)")}


def check_yields(func: Any, decorator: str) -> None:
    """Refuse a task function with visibly too few ``yield`` s for its kind.

    A task that forgets ``yield None`` would run its action while its requirements are read
    (in a dry run or a ``graph`` too). Only a definite shortfall is refused: yields in loops,
    ``yield from`` or unreadable source are given the benefit of the doubt.
    """
    needed, what = _NEEDED[decorator]
    count = count_yields(func)
    if count is not None and count < needed:
        raise ProtocolError(
            func.__qualname__,
            f"has {count} yield(s) but a @{decorator} yields {what}, in that order; "
            "yield None for none",
        )


def count_yields(func: Any) -> int | None:
    """The number of ``yield`` statements in ``func``'s own body, or None if unknowable."""
    code = getattr(func, "__code__", None)
    if code is None:
        return None
    return _yield_counts(code.co_filename).get(code.co_firstlineno)


@functools.lru_cache(maxsize=256)
def _yield_counts(filename: str) -> dict[int, int | None]:
    """Yield counts of every function in a source file, by the line its code starts on (its
    first decorator); the file is parsed once, however many task functions it has."""
    source = "".join(linecache.getlines(filename))
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return {}
    counts: dict[int, int | None] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = min([d.lineno for d in node.decorator_list] + [node.lineno])
            counts[first] = _count(node)
    return counts


def _count(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int | None:
    count = 0
    todo: list[tuple[ast.AST, bool]] = [(stmt, False) for stmt in function.body]
    while todo:
        node, looped = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.YieldFrom) or (isinstance(node, ast.Yield) and looped):
            return None
        count += isinstance(node, ast.Yield)
        inner = looped or isinstance(node, (ast.For, ast.While, ast.AsyncFor, ast.comprehension))
        todo.extend((child, inner) for child in ast.iter_child_nodes(node))
    return count


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

