"""Dispatch: which executor runs each node, tickets for attempts, and the jobs that run an
action in another process together with what happens back here when they end."""

from __future__ import annotations

from typing import Any

from tasktronaut.errors import TasktronautError
from tasktronaut.logs import RunLog
from tasktronaut.model.node import Node, NodeKind, reobserve
from tasktronaut.model.protocols import Events, Executor
from tasktronaut.workers import InlineExecutor, ProcessExecutor, ThreadExecutor


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


class Ticket:
    """One attempt of one node on one executor; a stale ticket's outcome is ignored."""

    __slots__ = ("executor", "node", "token")

    def __init__(self, node: Node, token: int, executor: Executor) -> None:
        self.node = node
        self.token = token
        self.executor = executor


class Pools:
    """The executors of one run, and which one each node's action goes to.

    A node's ``executor`` option wins over the run's default; the thread pool (or the calling
    thread, with one thread) is the default of defaults. Executors start on first use.
    """

    def __init__(self, threads: int, processes: int, default: Any, events: Events,
                 log: RunLog, inline: bool = True) -> None:
        self.threads: Executor = (
            InlineExecutor() if threads == 1 and inline else ThreadExecutor(threads)
        )
        self._processes = processes
        self._default = default
        self._events = events
        self._log = log
        self._process: ProcessExecutor | None = None
        self.started: list[Executor] = []

    def for_node(self, node: Node) -> Executor:
        choice = node.options.executor
        if node.kind is not NodeKind.TASK and node.kind is not NodeKind.STEP:
            choice = None
        elif choice is None:
            choice = self._default
        name = getattr(choice, "value", choice)
        if choice is None or name == "thread":
            executor: Executor = self.threads
        elif name == "process":
            if self._process is None:
                self._process = ProcessExecutor(self._processes or None)
            executor = self._process
        else:
            executor = choice
        if executor not in self.started:
            executor.start(self._events, self._log)
            self.started.append(executor)
        return executor

    def shutdown(self) -> None:
        for executor in self.started:
            executor.shutdown()
        self.started.clear()
