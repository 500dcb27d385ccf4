"""Durable records of a run: what a state store says is done, and recording completions.

A run with a state store asks each node's definition (through its ``NodeHooks``) whether the
store has it as completed before the run starts, and records each completion as it happens.
Recording is part of the outcome, not an observation: a completion that cannot be recorded
fails the node, so nothing is reported done that a resumed run would not know about.

The definitions see the store through :class:`RunRecords`, which adds what one run owes the
others sharing the store: the store is written once before any step starts (a read-only or
full store fails the run before work is done, not after); the records of an identifier are
used only with the arguments they were made with; and the run holds a lease on each
identifier it records for, renewed by a heartbeat and given back at the end.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from tasktronaut.errors import ArgumentError
from tasktronaut.logs import RunLog
from tasktronaut.model import freshness
from tasktronaut.model.node import Node, NodeKind, NodeStatus
from tasktronaut.model.options import DEFAULT_OPTIONS
from tasktronaut.state import open_store

FORCED = object()
"""The ``_mark`` of a node a run treats as not ready because it was forced (see
``engine/readiness.py``): what the store recorded for it is not used."""


class RunRecords:
    """One run's use of a state store; a store to the definitions, with ``begin`` added."""

    def __init__(self, store: Any, *, restart: bool = False, dry_run: bool = False,
                 ttl: float | None = None) -> None:
        # Leases and fingerprints load here, with a store: a run without one never needs them.
        from tasktronaut.state.leases import DEFAULT_TTL, Lease

        self.store = store
        self.restart = restart
        self.dry_run = dry_run
        self.ttl = DEFAULT_TTL if ttl is None else ttl
        self.lease = Lease.mine()
        self._begun: dict[str, dict[str, str]] = {}
        self._held: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._heart: threading.Thread | None = None
        self._written = False
        self._watched: list[Node] = []
        self._seen: dict[str, dict[str, Any]] = {}
        self._revisions: dict[str, Any] = {}
        self._unsaved: dict[str, dict[str, str]] = {}

    def completed(self, process_id: str) -> dict[str, Any]:
        return self.store.completed(process_id)  # type: ignore[no-any-return]

    def record(self, process_id: str, step: str, result: Any) -> None:
        self.store.record(process_id, step, result)

    def forget(self, process_id: str, step: str | None = None) -> int:
        return int(self.store.forget(process_id, step))

    def begin(self, identifier: str, arguments: dict[str, str], name: str) -> dict[str, Any]:
        """The records of ``identifier`` for a process run with ``arguments``; refuse
        records made with other arguments (unless restarting). The lease is taken by
        :meth:`start`, once it is known that there is work left."""
        from tasktronaut.state.fingerprint import differences

        with self._lock:
            earlier = self._begun.get(identifier)
            if earlier is None:
                self._begun[identifier] = arguments
        if earlier is not None:
            if earlier != arguments:
                raise ArgumentError(
                    f"{name}: two processes of this run use identifier '{identifier}' with "
                    f"other arguments ({'; '.join(differences(earlier, arguments))}); give "
                    "each its own identifier", name="identifier", value=identifier)
            return self._seen[identifier]
        if self.restart:
            if not self.dry_run:
                self._acquire(identifier)  # starting over writes at once: hold the lease first
                self.store.forget(identifier)
                _call(self.store, "set_arguments", identifier, arguments)
            self._seen[identifier] = {}
            return {}
        known = _call(self.store, "arguments", identifier)
        if known is not None and known != arguments:
            raise ArgumentError(
                f"{name}: the records of '{identifier}' were made with other arguments: "
                f"{'; '.join(differences(known, arguments))}. Start over with --restart "
                f"(run(restart=True)), or forget them: tasktronaut state forget {identifier}",
                name="identifier", value=identifier)
        if known is None:
            self._unsaved[identifier] = arguments
        self._revisions[identifier] = self._revision(identifier)
        seen = self._seen[identifier] = self.completed(identifier)
        return seen

    def _revision(self, identifier: str) -> Any:
        """A cheap token that changes with the records of ``identifier`` (the records
        themselves for a store that has none)."""
        revision = getattr(self.store, "revision", None)
        return revision(identifier) if revision is not None else self.completed(identifier)

    def start(self, order: Sequence[Node]) -> None:
        """Before the first step, if there is one: hold the lease of each identifier, check
        that its records did not change since they were read (another run just ended),
        write down its arguments, and make sure the store can be written at all."""
        from tasktronaut.state.leases import LeaseError

        if self.dry_run or not any(n.status is NodeStatus.NEW and n.kind is not NodeKind.JOIN
                                   for n in order):
            return  # nothing will run, so nothing will be recorded
        for identifier in list(self._begun):
            if identifier not in self._held:
                self._acquire(identifier)
                if self._revision(identifier) != self._revisions[identifier]:
                    raise LeaseError(
                        f"The records of '{identifier}' changed while this run was starting "
                        "(another run of it just ended); run again", process_id=identifier)
            arguments = self._unsaved.pop(identifier, None)
            if arguments is not None:
                _call(self.store, "set_arguments", identifier, arguments)
        self.check_writable()

    def _acquire(self, identifier: str) -> None:
        acquire = getattr(self.store, "acquire", None)
        if acquire is None:
            return
        acquire(identifier, self.lease, self.ttl)
        self._written = True
        with self._lock:
            self._held.append(identifier)
            if self._heart is None and getattr(self.store, "shared", True):
                self._heart = threading.Thread(target=self._beat, daemon=True,
                                               name="tasktronaut-lease")
                self._heart.start()

    def _beat(self) -> None:
        """Renew the held leases until the run ends (a missed beat is tried again later)."""
        while not self._stop.wait(self.ttl / 3):
            with self._lock:
                held = list(self._held)
            for identifier in held:
                try:
                    self.store.renew(identifier, self.lease.owner)
                except Exception:  # a busy store: the next beat tries again
                    continue

    def check_writable(self) -> None:
        """Write to the store now, unless this run already did (taking a lease); nothing
        for a dry run or a store that cannot tell."""
        if not self.dry_run and not self._written:
            _call(self.store, "check_writable")
            self._written = True

    def watch(self, order: Sequence[Node]) -> None:
        """Note the ``stale_if="changed"`` tasks of the run, to record their fingerprints."""
        self._watched = [n for n in order if n.options is not DEFAULT_OPTIONS
                         and n.options.stale_if == "changed"]

    def record_fingerprints(self) -> None:
        """Record the fingerprint of each watched task that ran and is ready now."""
        if self.dry_run or not self._watched:
            return
        known = self.store.completed(freshness.NAMESPACE)
        for node in self._watched:
            if node.status is NodeStatus.READY and node.ready:
                found = freshness.fingerprint(node)
                if known.get(node.taskname) != found:
                    self.store.record(freshness.NAMESPACE, node.taskname, found)

    def close(self) -> None:
        """Stop the heartbeat and give back the leases this run holds."""
        self._stop.set()
        if self._heart is not None:
            self._heart.join()
        with self._lock:
            held, self._held = self._held, []
        for identifier in held:
            try:
                self.store.release(identifier, self.lease.owner)
            except Exception:  # the lease then lapses: its owner is gone
                continue


def _call(store: Any, method: str, *args: Any) -> Any:
    """Call an optional store method; None when the store does not have it."""
    found = getattr(store, method, None)
    return None if found is None else found(*args)


@contextmanager
def opened(state: Any, restart: bool = False, dry_run: bool = False) -> Iterator[Any]:
    """The records of a run for its ``state`` setting (a path or a store), closed afterwards
    (the store too if this opened it); ``None`` without one."""
    if state is None:
        if restart:
            raise ArgumentError("restart needs a state store (state=...)", name="restart")
        yield None
        return
    store = open_store(state)
    try:
        records = RunRecords(store, restart=restart, dry_run=dry_run)
        try:
            yield records
            records.record_fingerprints()
        finally:
            records.close()
    finally:
        if store is not state:
            store.close()


def restore(order: Sequence[Node], store: Any, log: RunLog) -> None:
    """Mark as done what the state store recorded as completed, then make sure the store
    can be written (before any step starts, not after its work is done).

    Records are keyed by content, so a done node may follow one that is not (an item was
    inserted before it). Its dependents are then made to wait for what it followed too, so
    that the order the process describes holds on a resumed run.
    """
    done, out_of_order = NodeStatus.ALREADY_READY, False
    for node in order:
        hooks = node.hooks
        if (hooks is not None and node.status is NodeStatus.NEW and node._mark is not FORCED
                and hooks.restore(node, store)):
            node.status = done
            node._ready = True
            if not out_of_order:
                out_of_order = any(d.status is not done for d in node._deps or ())
            log.debug(f"{node.taskname}: Completed in an earlier run")
    if out_of_order:
        keep_order(order)
    if isinstance(store, RunRecords):
        store.watch(order)
        store.start(order)


def keep_order(order: Sequence[Node]) -> None:
    """Give the dependents of a done node the unfinished requirements it had."""
    done = NodeStatus.ALREADY_READY
    waits: dict[int, tuple[Node, ...]] = {}  # done node -> what it waited for, unfinished
    visited = {id(n) for n in order}
    for node in order:
        deps = node._deps
        if not deps:
            continue
        inherited: list[Node] = []
        for dep in deps:
            if dep.status is done:
                inherited.extend(waits.get(id(dep), ()))
        if node.status is done:
            pending = tuple(d for d in deps if d.status is not done and id(d) in visited)
            if pending or inherited:
                waits[id(node)] = (*pending, *inherited)
        elif inherited:
            node._deps = (*deps, *(d for d in dict.fromkeys(inherited) if d not in deps))


def warn_uncached(nodes: Sequence[Node], log: RunLog) -> None:
    """Say so when steps to run ask for a results cache in a run that has no store to keep
    it (``nodes``: those with options of their own, see ``Schedule.tuned``)."""
    for node in nodes:
        options = node.options
        if options is not DEFAULT_OPTIONS and options.cache_key is not None:
            log.warning(f"{node.taskname}: cache_key is set, but the run has no state store "
                        "(state=..., --state): its result is not cached")


def record(node: Node, store: Any) -> None:
    """Record ``node``'s completion in ``store`` (raises if it cannot be recorded)."""
    if node.hooks is not None:
        node.hooks.record(node, store)
