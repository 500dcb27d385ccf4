"""Capacity: how much room a run's executors and named resources have, and the nodes that
wait for it.

An executor takes ``capacity`` jobs at once (times its ``queue_depth`` for actions with no
timeout and no resources, so a burst of short tasks stays queued on the workers, or its
``fifo_queue_depth`` when ready nodes start first in, first out: jobs queued on the workers
then start in the order the schedule would have given them anyway); a named
resource (``resources={"db": 2}``) is never held beyond its limit by running actions. A node
that does not fit is parked until an attempt ends and makes room.
"""

from __future__ import annotations

from collections import deque

from tasktronaut.errors import ArgumentError
from tasktronaut.model.node import Node
from tasktronaut.model.protocols import Executor


class Capacity:
    """The jobs in flight on each executor, the resources held, and the parked nodes."""

    def __init__(self, limits: dict[str, int], fifo: bool = False) -> None:
        self.busy: dict[Executor, int] = {}
        """Jobs in flight per started executor (the dispatcher counts them)."""
        self.limits = limits
        self.held: dict[str, int] = dict.fromkeys(limits, 0)
        self.parked = 0
        """How many nodes wait for room on an executor."""
        self._parked: dict[Executor | None, deque[Node]] = {}
        self._fifo = fifo
        self._depths: dict[Executor, int] = {}

    def depth(self, executor: Executor) -> int:
        """How many jobs ``executor`` takes per worker (jobs queue behind busy workers)."""
        depth = self._depths.get(executor)
        if depth is None:
            depth = getattr(executor, "queue_depth", 1)
            if self._fifo:
                depth = getattr(executor, "fifo_queue_depth", depth)
            self._depths[executor] = depth
        return depth

    def has_room(self, executor: Executor | None, node: Node) -> bool:
        """Whether ``node`` may start now: its executor takes another job and the resources
        it needs are free (else it is parked)."""
        needs = node.options.resources
        if needs and self.limits:
            for name, amount in needs:
                limit = self.limits.get(name)
                if limit is not None and self.held[name] + amount > limit:
                    return False
        if executor is None:
            return True
        limit = executor.capacity
        if node.options.timeout is None and not needs:
            limit *= self.depth(executor)
        return self.busy[executor] < limit

    def hold(self, node: Node, sign: int = 1) -> None:
        """Take (or, ``sign=-1``, give back) the limited resources ``node`` needs."""
        for name, amount in node.options.resources:
            if name in self.held:
                self.held[name] += sign * amount

    def check_resources(self, nodes: list[Node]) -> None:
        """Refuse, before anything starts, a node that needs more than there is in all."""
        for node in nodes:
            for name, amount in node.options.resources:
                limit = self.limits.get(name)
                if limit is not None and amount > limit:
                    raise ArgumentError(
                        f"Task '{node.taskname}' needs {amount} of resource '{name}' but the "
                        f"run has {limit} in all", name="resources", value=dict(self.limits))

    def park(self, executor: Executor | None, node: Node) -> None:
        """Keep ``node`` until ``executor`` has room."""
        self._parked.setdefault(executor, deque()).append(node)
        self.parked += 1

    def unpark(self) -> list[Node]:
        """Parked nodes that now fit, in the order they came (the loop visits them again
        before they start, so a node whose process was cancelled meanwhile never starts)."""
        nodes: list[Node] = []
        for executor, parked in self._parked.items():
            room = len(parked) if executor is None else (
                executor.capacity * self.depth(executor) - self.busy[executor])
            while parked and room > 0:
                nodes.append(parked.popleft())
                room -= 1
        self.parked -= len(nodes)
        return nodes
