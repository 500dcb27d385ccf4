"""Running one background run where a backend's worker is (an RQ job, a Dask task).

The run is built from its call, run with the engine on the given store, and cancelled as
soon as ``should_cancel()`` says so (polled from a small thread): nothing new starts and the
process's ``on_cancelled`` runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import attrs

from tasktronaut.background import targets
from tasktronaut.background.queue import Status
from tasktronaut.engine import facts
from tasktronaut.model.node import Node, NodeStatus, traverse
from tasktronaut.state import StateStore, open_store


def outcome(root: Node, cancelled: bool) -> tuple[Status, str | None]:
    """How a run ended, and one line saying what failed if it did."""
    if root.ready:
        return Status.SUCCEEDED, None
    if cancelled or root.status is NodeStatus.CANCELLED:
        return Status.CANCELLED, None
    return Status.FAILED, failure_summary(root)


def failure_summary(root: Node) -> str:
    """One line naming what failed in a run (or that its root is not ready)."""
    failed = [n for n in traverse(root) if n.status is NodeStatus.FAILED]
    if not failed:
        return f"'{root.taskname}' is not ready ({root.status.value})"
    first = failed[0]
    more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
    return f"'{first.taskname}' failed: {first.error}{more}"


def run(root: Node, identifier: str, store: Any, settings: dict[str, Any]) -> Node:
    """Run ``root`` on ``store`` with the facts observer, and keep the run record with the
    store under ``identifier`` (a process keeps it itself; a task graph has no identifier)."""
    observer = facts.RunFacts(run_id=identifier)
    ran = root.run(state=store, observers=[observer], **settings)
    record = observer.record
    if record is not None and record.identifier is None:
        facts.save(store, attrs.evolve(record, identifier=identifier))
    return ran


def cancel_when_started(root: Node) -> bool:
    """Cancel ``root``'s run if it has started; False if it has not yet (try again)."""
    session = root._session
    if session is None or session.active is None:
        return False
    root.cancel()
    return True


def perform(call: targets.Call, identifier: str, settings: dict[str, Any], state: Any,
            should_cancel: Callable[[], bool], poll: float = 0.2) -> dict[str, Any]:
    """Build and run the call; return ``{"status", "error", "steps", "record"}`` (JSON
    data; ``record`` is the run record's data)."""
    store: StateStore = open_store(state)
    root = targets.build(call, identifier)
    finished = threading.Event()
    cancelled = threading.Event()

    def watch() -> None:
        while not finished.wait(poll):
            if should_cancel() and cancel_when_started(root):
                cancelled.set()
                return

    watcher = threading.Thread(target=watch, name="tasktronaut-cancel-watch", daemon=True)
    watcher.start()
    try:
        if should_cancel():
            return {"status": Status.CANCELLED.value, "error": None, "steps": {}}
        ran = run(root, identifier, store, settings)
    finally:
        finished.set()
        watcher.join()
    status, error = outcome(ran, cancelled.is_set())
    try:
        steps = store.completed(identifier)
        record = facts.load(store, identifier)
    finally:
        if state is None or not isinstance(state, StateStore):
            store.close()
    return {"status": status.value, "error": error, "steps": steps,
            "record": None if record is None else record.to_data()}
