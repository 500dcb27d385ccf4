"""Small observers the engine adds by itself: definition hooks and the ``listener=`` setting.

Hooks that *decide* (``cancelled``, ``starting``, ``restore``, ``record``, ``cancel``) stay
calls of the loop; hooks that only *hear* of an outcome (``failed``) are delivered as events,
like everything else that watches a run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tasktronaut.logs import RunLog
from tasktronaut.model.node import Node, NodeStatus


class DefinitionHooks:
    """Tells a node's definition (``NodeHooks``) that it failed for good."""

    quiet_when_ready = True  # a node that became ready is nothing to tell (see Bus.ready_heard)

    def __init__(self, log: RunLog) -> None:
        self.log = log

    def node_finished(self, node: Node) -> None:
        hooks = node.hooks
        if hooks is None or node.status is not NodeStatus.FAILED or node.error is None:
            return
        try:
            hooks.failed(node, node.error)
        except Exception as e:  # a hook never changes the run's outcome
            self.log.error(f"{node.taskname}: on_failed hook raised {type(e).__name__}: {e}")


class Listener:
    """The ``listener=`` run setting: called with each node as it gets its final status."""

    def __init__(self, listener: Callable[[Node], Any]) -> None:
        self.listener = listener

    def node_finished(self, node: Node) -> None:
        self.listener(node)
