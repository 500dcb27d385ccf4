"""The summary at the end of a run: what ran, what failed, what is blocked and by what, the
slowest steps and the time taken."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from tasktronaut.engine.facts import (
    NodeRecord,
    RunRecord,
    graph_order,
    node_record,
    ran_action,
    totals,
)
from tasktronaut.model.node import Node


@attrs.frozen
class Summary:
    """What a run did, counted over the graph below its root (join nodes left out), with
    the failed nodes, the blocked ones and what blocks them, and the slowest steps."""

    ran: int
    already_ready: int
    not_ready: int
    """Nodes not ready at the end, blocked ones included."""
    failed: int
    cancelled: int
    skipped: int
    elapsed: float
    blocked: int = 0
    failures: tuple[tuple[str, str], ...] = ()
    """(node, first line of its error) for every failed node."""
    waits: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """(blocked node, the requirements that were not ready)."""
    causes: tuple[str, ...] = ()
    """What the blocked nodes wait for in the end: the nodes that are not ready and not
    blocked themselves."""
    slowest: tuple[tuple[str, float], ...] = ()

    @classmethod
    def of(cls, root: Node, elapsed: float) -> Summary:
        """Count the nodes below ``root`` as they stand now (no timings)."""
        nodes = graph_order(root)
        records = [node_record(n) for n in nodes]
        ran = sum(1 for n in nodes if ran_action(n))
        return cls.of_records(records, totals([r.state for r in records], ran), elapsed)

    @classmethod
    def of_record(cls, record: RunRecord) -> Summary:
        """The summary of a run's record (with the slowest steps)."""
        return cls.of_records(record.nodes, record.totals, record.seconds)

    @classmethod
    def of_records(cls, records: Sequence[NodeRecord], counts: Mapping[str, int],
                   elapsed: float) -> Summary:
        by_name = {r.name: r for r in records}
        blocked = [r for r in records if r.state == "blocked"]
        timed = sorted((r for r in records if r.attempts and r.kind in ("task", "step")),
                       key=lambda r: -r.seconds)
        return cls(
            ran=counts["ran"],
            already_ready=counts["already ready"],
            not_ready=counts["not ready"] + counts["blocked"],
            failed=counts["failed"],
            cancelled=counts["cancelled"],
            skipped=counts["skipped"] + counts["pending"],
            elapsed=elapsed,
            blocked=counts["blocked"],
            failures=tuple((r.name, r.error or "failed") for r in records
                           if r.state == "failed"),
            waits=tuple((r.name, r.blocked_by) for r in blocked),
            causes=_causes(blocked, by_name),
            slowest=tuple((r.name, r.seconds) for r in timed[:SLOWEST]),
        )

    def lines(self, verbose: bool = False) -> list[str]:
        """The summary as log lines: counts, then what failed, what is blocked (each blocked
        node when ``verbose``), the slowest steps, and the time taken."""
        counts = (f"{self.ran} run, {self.already_ready} already ready, "
                  f"{self.not_ready} not ready, {self.failed} failed")
        extra = [f"{n} {what}" for n, what in ((self.cancelled, "cancelled"),
                                                (self.skipped, "not started")) if n]
        lines = [f"Summary: {', '.join([counts, *extra])}"]
        lines += [f"Failed: {name}: {error}" for name, error in self.failures]
        if self.blocked:
            lines.append(f"Blocked: {self.blocked} task(s), waiting for "
                         f"{_names(self.causes, None if verbose else BRIEF)}")
            if verbose:
                lines += [f"Blocked: {name} waits for {_names(on, None)}"
                          for name, on in self.waits]
        if self.slowest and (verbose or self.slowest[0][1] >= SLOW):
            lines.append("Slowest: " + ", ".join(f"{name} ({elapsed(seconds)})"
                                                 for name, seconds in self.slowest))
        lines.append(f"Elapsed: {elapsed(self.elapsed)}")
        return lines


SLOWEST = 3
"""How many of the slowest steps the summary names."""
SLOW = 0.1
"""Seconds: the slowest steps are named when one took this long (always with ``verbose``)."""
BRIEF = 3
"""How many names a brief line lists before "and N more"."""


def _causes(blocked: Sequence[NodeRecord], by_name: Mapping[str, NodeRecord]) -> tuple[str, ...]:
    """Follow what blocked nodes wait for down to the nodes that are not blocked themselves."""
    causes: dict[str, None] = {}
    seen: set[str] = set()
    todo = [name for r in blocked for name in r.blocked_by]
    while todo:
        name = todo.pop(0)
        if name in seen:
            continue
        seen.add(name)
        record = by_name.get(name)
        if record is not None and record.state == "blocked":
            todo.extend(record.blocked_by)
        else:
            state = record.state if record is not None else "not ready"
            causes[f"{name} ({state})"] = None
    return tuple(causes)


def _names(names: Sequence[str], limit: int | None) -> str:
    if limit is None or len(names) <= limit:
        return ", ".join(names)
    return f"{', '.join(names[:limit])} and {len(names) - limit} more"


def elapsed(seconds: float) -> str:
    """``0.42s``, ``12.3s`` or ``2m 05s``."""
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m {rest:02d}s"


