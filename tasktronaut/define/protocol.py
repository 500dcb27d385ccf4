"""The generator protocol of asset tasks: reading a task function's yields and driving it.

A task function yields, in order, its name, its asset(s) and its requirement(s), then acts.
:mod:`~tasktronaut.define.decorators` reads the name and assets when a task is called; the
functions here read the requirements later (only if the assets are not ready), run the
action, call a task function afresh for a retry or a worker process, and refuse at
decoration time a function with visibly too few ``yield`` s.
"""

from __future__ import annotations

import ast
import functools
import linecache
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, cast

from tasktronaut.define.asynctasks import AsyncTaskGen
from tasktronaut.define.session import current_session
from tasktronaut.define.signature import annotate
from tasktronaut.errors import ProtocolError, TasktronautError
from tasktronaut.model.node import Node, ReqT, check_assets

if TYPE_CHECKING:
    from tasktronaut.define.decorators import TaskFunction


def next_yield(gen: Generator[Any, Any, Any], task: str, what: str) -> Any:
    """The next yield of ``gen``; a protocol error naming ``what`` was due if it stopped."""
    try:
        return next(gen)
    except StopIteration:
        raise ProtocolError(task, f"stopped before yielding {what}; check its yields") from None


def read_requirements(node: Node) -> ReqT:
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
    return cast(ReqT, in_session(node, next_yield, gen, node.taskname, "requirement(s)"))


def run_action(node: Node) -> None:
    """Run a task's action: the task function's code after its last yield.

    A ``for`` loop drives the generator to its end without raising ``StopIteration``, which
    is measurably cheaper than ``next()``; an asset task's outcome is its assets, so the
    generator's return value is not kept.
    """
    gen = node._gen
    if gen is None:
        gen = fresh_generator(node)
    node._gen = None
    for _ in gen:
        gen.close()
        raise ProtocolError(node.taskname, "yielded again after its requirement(s)")


def run_async_action(node: Node) -> Any:
    """An async task's action: a coroutine the engine awaits on the run's event loop."""
    gen = node._gen
    if gen is None:
        gen = fresh_generator(node)
    node._gen = None
    return cast(AsyncTaskGen, gen).act(node.taskname)


def fresh_generator(node: Node) -> Generator[Any, Any, Any]:
    """Call the task function again and advance it to its action (used by retries).

    The fresh call's assets replace the node's: an asset held in memory (``Asset(box,
    lambda: bool(box))``) is the new call's object, the one its action fills."""
    function, args, kwargs = node.call
    gen: Generator[Any, Any, Any] = function.func(*args, **kwargs)
    next_yield(gen, node.taskname, "its name")
    node._asset = check_assets(next_yield(gen, node.taskname, "asset(s)"), node.taskname)
    next_yield(gen, node.taskname, "requirement(s)")
    return gen


def advanced(function: TaskFunction[...], args: tuple[Any, ...], kwargs: dict[str, Any],
             name: str) -> Generator[Any, Any, Any]:
    """A fresh call of ``function`` advanced past its requirement(s), to its action."""
    gen: Generator[Any, Any, Any] = function.func(*args, **kwargs)
    for what in ("its name", "asset(s)", "requirement(s)"):
        next_yield(gen, name, what)
    return gen


def in_session(node: Node, fn: Callable[..., Any], *args: Any) -> Any:
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
