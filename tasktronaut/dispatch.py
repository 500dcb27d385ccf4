"""What travels between the engine and its executors: tickets, and the jobs that run an
action in another process together with what happens back here when they end."""

from __future__ import annotations

from typing import Any

from tasktronaut.errors import TasktronautError
from tasktronaut.graph import Node, NodeKind, observe
from tasktronaut.workers import Executor


def remote_job(node: Node) -> Any:
    """The picklable job that runs ``node``'s action in another process."""
    call = node.call
    maker = call[0].remote if isinstance(call, tuple) else getattr(call, "remote", None)
    if maker is None:
        raise TasktronautError(f"Task '{node.taskname}' cannot run in a worker process")
    return maker(node)


def finish_remote(node: Node, ok: bool, value: Any) -> tuple[bool, Any]:
    """Back in this process after a remote action: record it, observe the assets here."""
    finish = getattr(node.call, "finish", None)
    if finish is not None:
        finish(node, ok, value)
    if not ok:
        return False, value
    node.result = value
    try:
        return True, reobserve(node)
    except TasktronautError as e:
        return False, e


def reobserve(node: Node) -> bool:
    """Observe a node's assets again after its action; a check that raises names the task."""
    try:
        if node.kind is NodeKind.TASK:
            ready: bool = observe(node._asset)
            node._ready = ready
            return ready
        node._ready = None
        return node.ready
    except TasktronautError:
        node._ready = False
        raise
    except Exception as e:
        node._ready = False
        raise readiness_error(e) from e


def readiness_error(error: BaseException) -> TasktronautError:
    return TasktronautError(f"asset readiness check raised {type(error).__name__}: {error}")


class Ticket:
    """One attempt of one node on one executor; a stale ticket's outcome is ignored."""

    __slots__ = ("executor", "node", "token")

    def __init__(self, node: Node, token: int, executor: Executor) -> None:
        self.node = node
        self.token = token
        self.executor = executor
