"""The schedule: which nodes may start, as a pure state machine.

No threads, no clock, no I/O: the loop tells the schedule what happened and asks it what may
start next (graphlib's ``prepare / get_ready / done``, Dask's ``finish_task``). Every node that
was not ready when the graph was built waits for a count of its requirements; releasing a node
(it got its final status) decrements the counts of its dependents, and one that reaches zero is
ready. Work per node is proportional to its edges, so a run is linear in the size of the graph.

Ready nodes come out first in, first out; when some node has a ``priority`` option, higher
priorities come out first and ties keep their order in ``order`` (definition order). Retries
wait in a separate heap keyed by the time they are due; the loop passes the time in.

Bookkeeping lives in two slots of each node (``_pending``, ``_dependents``); this module is
their only writer.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Sequence

from tasktronaut.model.node import Node, NodeStatus
from tasktronaut.model.options import DEFAULT_OPTIONS

_ALREADY = NodeStatus.ALREADY_READY


class Schedule:
    """Pending counts, dependents, the ready queue and delayed retries of one run."""

    __slots__ = ("_heap", "_rank", "_seq", "cleanups", "hooked", "queue", "remaining", "timed",
                 "tuned", "waiting")

    def __init__(self, order: Sequence[Node]) -> None:
        self.queue: deque[Node] = deque()
        self._heap: list[tuple[int, int, Node]] | None = None
        self._rank: dict[int, int] = {}
        self.waiting: list[tuple[float, int, Node]] = []
        """Retries waiting for their time: a heap of ``(due, sequence, node)``."""
        self._seq = 0
        self.remaining = 0
        self.hooked = self.timed = self.cleanups = False
        self.tuned: list[Node] = []
        """The nodes to run that have options of their own (the only ones that can have a
        priority, a timeout, a cache key...)."""
        self._prepare(order)

    def _prepare(self, order: Sequence[Node]) -> None:
        """Count what each node waits for; queue those that wait for nothing."""
        ready: list[Node] = []
        tuned = self.tuned
        for node in order:
            if node.status is _ALREADY:
                continue
            self.remaining += 1
            node._dependents = None  # its dependents come later in ``order`` and link here
            if node.options is not DEFAULT_OPTIONS:
                tuned.append(node)
            if node.hooks is not None:
                self.hooked = True
            pending = 0
            for dep in node._deps or ():
                if dep.status is not _ALREADY:
                    pending += 1
                    # record that node waits for dep (one dependent is kept without a list)
                    dependents = dep._dependents
                    if dependents is None:
                        dep._dependents = node
                    elif type(dependents) is list:
                        dependents.append(node)
                    else:
                        dep._dependents = [dependents, node]  # type: ignore[list-item]
            node._pending = pending
            if not pending:
                ready.append(node)
        self._start(order, ready, tuned)

    def _start(self, order: Sequence[Node], ready: list[Node], tuned: list[Node]) -> None:
        """Queue the nodes that wait for nothing; by priority if any node has one (``tuned``:
        the nodes with options of their own, the only ones that can)."""
        self.timed = any(n.options.timeout is not None for n in tuned)
        self.cleanups = any(n.options.always for n in tuned)
        if any(n.options.priority for n in tuned):
            self._heap = []
            self._rank = {id(n): i for i, n in enumerate(order)}
            for node in ready:
                self._push(node)
        else:
            self.queue.extend(ready)

    def extend(self, nodes: Sequence[Node], join: Node, exits: Sequence[Node]) -> None:
        """Nodes added to the running graph (requirements first), before ``join``: it now
        also waits for ``exits``. Call it before releasing the node that made them."""
        if self._heap is not None:
            base = len(self._rank)
            self._rank.update((id(n), base + i) for i, n in enumerate(nodes))
        ready = []
        for node in nodes:
            if node.status is _ALREADY:
                continue
            self.remaining += 1
            node._dependents = None
            pending = 0
            for dep in node._deps or ():
                if dep.status is not _ALREADY:
                    pending += 1
                    _wait(dep, node)
            node._pending = pending
            if not pending:
                ready.append(node)
        join._deps = (*(join._deps or ()), *exits)
        for exit_node in exits:
            if exit_node.status is not _ALREADY:
                join._pending += 1
                _wait(exit_node, join)
        for node in ready:
            self._push(node)

    def _push(self, node: Node) -> None:
        heap = self._heap
        if heap is None:
            self.queue.append(node)
        else:
            heapq.heappush(heap, (-node.options.priority, self._rank[id(node)], node))

    def pop(self) -> Node | None:
        """The next node that may start, or ``None`` if none may now."""
        heap = self._heap
        if heap is None:
            queue = self.queue
            return queue.popleft() if queue else None
        return heapq.heappop(heap)[2] if heap else None

    def release(self, node: Node) -> None:
        """``node`` has its final status: its dependents stop waiting for it."""
        self.remaining -= 1
        dependents = node._dependents
        if dependents is None:
            return
        node._dependents = None
        if type(dependents) is not list:  # one dependent (a chain): the shortest path
            dependents._pending -= 1  # type: ignore[union-attr]
            if not dependents._pending:  # type: ignore[union-attr]
                if self._heap is None:
                    self.queue.append(dependents)  # type: ignore[arg-type]
                else:
                    self._push(dependents)  # type: ignore[arg-type]
            return
        push = self.queue.append if self._heap is None else self._push
        for dependent in dependents:
            dependent._pending -= 1
            if not dependent._pending:
                push(dependent)

    def delay(self, node: Node, due: float) -> None:
        """``node`` starts again (a retry) once the clock reaches ``due``."""
        self._seq += 1
        heapq.heappush(self.waiting, (due, self._seq, node))

    def next_due(self) -> float | None:
        """When the earliest waiting retry is due (``None`` if none waits)."""
        return self.waiting[0][0] if self.waiting else None

    def requeue_due(self, now: float) -> None:
        """Retries whose time has come may start again, before anything else queued."""
        delayed = self.waiting
        while delayed and delayed[0][0] <= now:
            node = heapq.heappop(delayed)[2]
            if self._heap is None:
                self.queue.appendleft(node)
            else:
                self._push(node)

    def drop_delayed(self) -> list[Node]:
        """Take every waiting retry off the schedule (the run stopped); return them."""
        nodes = [entry[2] for entry in sorted(self.waiting)]
        self.waiting.clear()
        return nodes

    @property
    def fifo(self) -> bool:
        """Whether ready nodes come out in the order they became ready (no priorities)."""
        return self._heap is None

    def __len__(self) -> int:
        return len(self.queue) + len(self._heap or ())


def _wait(dep: Node, node: Node) -> None:
    """Record that ``node`` waits for ``dep`` (one dependent is kept without a list)."""
    dependents = dep._dependents
    if dependents is None:
        dep._dependents = node
    elif isinstance(dependents, list):
        dependents.append(node)
    else:
        dep._dependents = [dependents, node]


def predicted_order(order: Sequence[Node]) -> list[Node]:
    """The nodes in the order one thread would start them if every action succeeded."""
    schedule = Schedule(order)
    started = []
    while (node := schedule.pop()) is not None:
        started.append(node)
        schedule.release(node)
    return started
