"""Whether a failed attempt gets another one, and after how long.

A function of the node's options, its attempt count and the error: errors that say "do not
retry" (a cancel, a protocol or argument mistake, a state store failure) never are, and
neither is anything once the run is stopping.
"""

from __future__ import annotations

from tasktronaut.errors import (
    ArgumentError,
    CancelProcessError,
    CycleError,
    NonRetryableProcessError,
    ProtocolError,
    StateError,
)
from tasktronaut.model.node import Node

NEVER_RETRIED = (NonRetryableProcessError, CancelProcessError, ProtocolError, ArgumentError,
                 CycleError, StateError)


def next_delay(node: Node, error: BaseException, stopping: bool) -> float | None:
    """Seconds to wait before ``node``'s next attempt, or ``None`` if there is none."""
    options = node.options
    if (
        stopping
        or node.attempt >= options.max_attempts
        or isinstance(error, NEVER_RETRIED)
        or not isinstance(error, options.retry_on)
    ):
        return None
    return options.delay(node.attempt)
