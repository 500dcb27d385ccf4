"""Durable records of a run: what a state store says is done, and recording completions.

A run with a state store asks each node's definition (through its ``NodeHooks``) whether the
store has it as completed before the run starts, and records each completion as it happens.
Recording is part of the outcome, not an observation: a completion that cannot be recorded
fails the node, so nothing is reported done that a resumed run would not know about.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from tasktronaut.logs import RunLog
from tasktronaut.model.node import Node, NodeStatus
from tasktronaut.state import open_store


@contextmanager
def opened(state: Any) -> Iterator[Any]:
    """The store for a run's ``state`` setting (a path or a store), closed afterwards if
    this opened it; ``None`` without one."""
    if state is None:
        yield None
        return
    store = open_store(state)
    try:
        yield store
    finally:
        if store is not state:
            store.close()


def restore(order: Sequence[Node], store: Any, log: RunLog) -> None:
    """Mark as done what the state store recorded as completed."""
    for node in order:
        hooks = node.hooks
        if hooks is not None and node.status is NodeStatus.NEW and hooks.restore(node, store):
            node.status = NodeStatus.ALREADY_READY
            node._ready = True
            log.debug(f"{node.taskname}: Completed in an earlier run")


def record(node: Node, store: Any) -> None:
    """Record ``node``'s completion in ``store`` (raises if it cannot be recorded)."""
    if node.hooks is not None:
        node.hooks.record(node, store)
