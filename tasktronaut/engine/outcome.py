"""What happens to a node when its turn comes, and after its action: the one writer of a
node's ``status``, ``result`` and ``error`` during a run.

:func:`visit` decides whether a node's action runs (a task or step whose requirements are
all ready, whose process is not cancelled, outside a dry run) or only reports its readiness,
as iotaa does. :func:`perform` runs an action where the worker runs it and observes the
assets again; remote executors come back through ``dispatch.finish_remote`` to the same
``(ok, ready-or-error)`` pair, so everything after an action is one path for every executor.
"""

from __future__ import annotations

import inspect
from typing import Any

from tasktronaut.errors import TasktronautError
from tasktronaut.logs import RunLog
from tasktronaut.model.assets import Asset
from tasktronaut.model.node import Node, NodeKind, NodeStatus, readiness_error, reobserve

_TASK, _STEP, _EXTERNAL = NodeKind.TASK, NodeKind.STEP, NodeKind.EXTERNAL
_READY, _NOT_READY = NodeStatus.READY, NodeStatus.NOT_READY
_PASSIVE = (NodeKind.COLLECTION, NodeKind.JOIN)
_PLAIN = frozenset((bool, int, float, str, bytes, list, tuple, dict, set))
"""Result types that are never awaitable (a step's result is often one): not asked."""


class Dropped:
    """What a queued attempt returns when it was dropped before it started (a stop)."""

    __slots__ = ()


DROPPED = Dropped()


def visit(node: Node, dry_run: bool, log: RunLog, acted: bool) -> bool:
    """True if ``node``'s action should run now; otherwise give it its status.

    A node with an action runs when every requirement is ready; a cancelled process's step
    is skipped; in a dry run it is reported instead. A cleanup step (``always``) runs once
    its requirements were visited, whatever their outcome, even in a cancelled process.
    Nodes without an action (collections, joins, externals, ready tasks) take the readiness
    of their assets or requirements.
    An external's assets are observed once per run, as iotaa does (its check may be an HTTP
    request), unless an action has completed since (``acted``): then the world may have
    changed, and a file an earlier step wrote is seen.
    """
    kind = node.kind
    if kind is _TASK or kind is _STEP or node._action is not None:
        always = node.options.always  # a cleanup runs whatever happened before it
        for dep in node._deps or ():
            if dep._ready is not True and not dep.ready and not always:
                break
        else:
            hooks = node.hooks
            if not always and hooks is not None and hooks.cancelled():
                node.status = NodeStatus.SKIPPED
                node._ready = False
                return False
            if not dry_run:
                return True
            log.info(f"{node.taskname}: SKIPPING (DRY RUN)")
        node._ready = False
    elif kind in _PASSIVE or (acted and kind is _EXTERNAL):
        node._ready = None  # as ready as its requirements (or assets) are now
    node.status = _READY if node.ready else _NOT_READY
    return False


def perform(node: Node) -> tuple[bool, Any]:
    """Run ``node``'s action here and observe its assets again: ``(True, ready)``, or
    ``(False, error)`` if the action or the readiness check raised.

    Whatever the action raises is the node's failure, ``KeyboardInterrupt`` and
    ``SystemExit`` included: a step's own exception never ends the run (the run's signal
    handler, not the step, decides about Ctrl-C).
    """
    try:
        return True, _act(node)
    except BaseException as e:
        _abort_if_asked(e)
        node._ready = False
        return False, e


def perform_settled(node: Node) -> BaseException | None:
    """:func:`perform` for a plain task, settling it when its action succeeded: ``None``,
    with its status set; else the error, with its status untouched (a retry may follow).

    The same steps as ``perform`` then ``succeeded``, in one call: this is the path most
    nodes of a large graph take, so it saves the calls in between.
    """
    try:
        # _act() inlined for a task with one Asset: this is the hottest path of a run
        action = node._action
        if action is not None:
            result = node.result = action(node)
            if result is not None and type(result) not in _PLAIN and inspect.isawaitable(result):
                raise _unexpected_awaitable(node, result)
        asset = node._asset
        if type(asset) is Asset:
            try:
                ready = node._ready = bool(asset.ready())
            except TasktronautError:
                raise
            except Exception as e:
                raise readiness_error(e) from e
        else:
            ready = reobserve(node)
    except BaseException as e:
        _abort_if_asked(e)
        node._ready = False
        return e
    node.status = _READY if ready else _NOT_READY
    return None


def _act(node: Node) -> bool:
    """Run the action, then observe the assets again (a check that raises names the task)."""
    action = node._action
    if action is not None:
        result = node.result = action(node)
        if result is not None and inspect.isawaitable(result):
            raise _unexpected_awaitable(node, result)
    if node.kind is not _TASK:
        return reobserve(node)
    asset = node._asset
    if type(asset) is not Asset:
        return reobserve(node)
    try:
        ready = bool(asset.ready())
    except TasktronautError:
        raise
    except Exception as e:
        raise readiness_error(e) from e
    node._ready = ready
    return ready


def _abort_if_asked(error: BaseException) -> None:
    """A second Ctrl-C raised inside an action aborts the run; nothing else does."""
    if isinstance(error, KeyboardInterrupt | SystemExit) and getattr(
            error, "tasktronaut_abort", False):
        raise error


async def aperform(node: Node) -> tuple[bool, Any]:
    """:func:`perform` for an async action: its awaitable is awaited on the run's loop.

    ``asyncio.CancelledError`` (a timeout, a stop) is not the node's outcome: it propagates,
    and the engine, which cancelled it, has settled the attempt already.
    """
    import asyncio  # loaded already when an action is async; not at start-up

    try:
        result = node._action(node) if node._action is not None else None
        if inspect.isawaitable(result):
            result = await result
        node.result = result
        return True, reobserve(node)
    except asyncio.CancelledError:
        raise
    except BaseException as e:
        node._ready = False
        return False, e


def _unexpected_awaitable(node: Node, result: Any) -> TasktronautError:
    close = getattr(result, "close", None)
    if close is not None:
        close()  # never awaited: say so here, not as a RuntimeWarning at exit
    return TasktronautError(
        f"'{node.taskname}' returned an awaitable ({type(result).__name__}) but does not run "
        "on the event loop: make it 'async def' (or give it executor='async')"
    )


def succeeded(node: Node, ready: bool) -> None:
    """The action ran to its end; its assets are (not) ready now."""
    node.status = _READY if ready else _NOT_READY


def failed(node: Node, error: BaseException, cancelled: bool) -> None:
    """The node failed for good (or, ``cancelled``, asked to cancel its process)."""
    node.error = error
    node._ready = False
    node.status = NodeStatus.CANCELLED if cancelled else NodeStatus.FAILED


def skipped(node: Node) -> None:
    """The node never started (the run stopped, or its attempt was dropped)."""
    node.status = NodeStatus.SKIPPED
    node._ready = False


def describe(error: BaseException) -> str:
    """The first line of an error's message, or its type's name; never raises."""
    try:
        lines = str(error).strip().splitlines()
    except Exception:
        return f"{type(error).__name__} (its message could not be read)"
    return lines[0] if lines else type(error).__name__
