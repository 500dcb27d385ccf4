"""Facts of a run: when each attempt of each node started and ended, where, and how it ended.

:class:`RunFacts` is an observer; give it to a run (``node.run(observers=[RunFacts()])``, the
command line always does) and the root that run returns has a :class:`RunRecord`
(``root.run_record``): the arguments and settings, start, end and totals of the run, and per
node its state, its attempts and its error. With a state store and a process identifier the
record is also kept with the store (the last run per identifier; see :func:`save`), so a
report can be written after the fact.

Everything the reports, the summary and the traces show comes from here. Join nodes only
connect the blocks of a process and are never counted. A run without this observer pays
nothing for it.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import threading
import time
import traceback
import uuid
import weakref
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from tasktronaut import _gc
from tasktronaut.engine.events import Observer
from tasktronaut.model.node import Node, NodeKind, NodeStatus
from tasktronaut.model.report import STATES, blockers, requirements, state

if TYPE_CHECKING:
    from tasktronaut.engine.stop import StopReason


_SETTINGS = ("threads", "processes", "executor", "dry_run", "fail_fast", "state", "grace")


@attrs.frozen
class Attempt:
    """One attempt of a node's action."""

    number: int
    """Counts from 1."""
    start: float
    """Wall-clock time it started (seconds since the epoch)."""
    seconds: float
    """How long it took, on the monotonic clock."""
    worker: str
    """Where it ran: a thread's name, ``process`` or ``dask``."""
    outcome: str
    """``ready``, ``not ready``, ``failed``, ``cancelled``, or ``retried`` (it failed and
    another attempt followed)."""
    error: str | None = None
    """The first line of its error, if it raised."""

    @property
    def end(self) -> float:
        """Wall-clock time it ended."""
        return self.start + self.seconds


@attrs.frozen
class NodeRecord:
    """What happened to one node in a run."""

    name: str
    kind: str
    state: str
    """One of :data:`~tasktronaut.model.report.STATES`."""
    requires: tuple[str, ...] = ()
    """Its requirements, join nodes looked through (the ones ready when built included)."""
    blocked_by: tuple[str, ...] = ()
    """The requirements that were not ready, when it is blocked."""
    attempts: tuple[Attempt, ...] = ()
    error: str | None = None
    """The first line of its last error."""
    traceback: str | None = None

    @property
    def seconds(self) -> float:
        """Time spent in its attempts."""
        return sum(a.seconds for a in self.attempts)


@attrs.frozen
class RunRecord:
    """What one run did: its parameters, its timing, its totals and every node's record."""

    run_id: str
    root: str
    identifier: str | None
    arguments: dict[str, Any]
    settings: dict[str, Any]
    start: float
    seconds: float
    stopped: str | None
    """Why the run stopped early (``Interrupted``, ...), or ``None``."""
    totals: dict[str, int]
    """Nodes per state, ``total`` (every node counted) and ``ran`` (actions that made their
    node ready)."""
    nodes: tuple[NodeRecord, ...]

    @property
    def ready(self) -> bool:
        """Whether the root ended ready."""
        return any(n.name == self.root and n.state in ("ready", "already ready")
                   for n in self.nodes)

    def node(self, name: str) -> NodeRecord:
        """The record of the node called ``name`` (``KeyError`` if there is none)."""
        for record in self.nodes:
            if record.name == name:
                return record
        raise KeyError(name)

    def in_state(self, *states: str) -> list[NodeRecord]:
        """The nodes in any of ``states``, in graph order."""
        return [n for n in self.nodes if n.state in states]

    def slowest(self, count: int = 5) -> list[NodeRecord]:
        """The nodes whose attempts took longest, longest first."""
        timed = [n for n in self.nodes if n.attempts]
        return sorted(timed, key=lambda n: -n.seconds)[:count]

    def to_data(self) -> dict[str, Any]:
        """The record as plain JSON-able data (:meth:`from_data` reads it back)."""
        data: dict[str, Any] = _converter().unstructure(self)
        return data

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> RunRecord:
        """A record from :meth:`to_data`'s data."""
        record: RunRecord = _converter().structure(dict(data), cls)
        return record

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_data(), indent=indent, ensure_ascii=False)


@functools.cache
def _converter() -> Any:
    """cattrs' converter, imported when a record is first written or read."""
    import cattrs

    return cattrs.Converter()


def counted(node: Node) -> bool:
    """Join nodes only connect blocks of a process; they are never counted as tasks."""
    return node.kind is not NodeKind.JOIN


def graph_order(root: Node) -> list[Node]:
    """The counted nodes below ``root`` as built, requirements before their dependents and
    in the order they were yielded (the order a run's record lists them)."""
    order: list[Node] = []
    seen = {id(root)}
    stack: list[tuple[Node, Iterator[Node]]] = [(root, iter(root._deps or ()))]
    while stack:
        node, children = stack[-1]
        for child in children:
            if id(child) not in seen:
                seen.add(id(child))
                stack.append((child, iter(child._deps or ())))
                break
        else:
            stack.pop()
            if counted(node):
                order.append(node)
    return order


def ran_action(node: Node) -> bool:
    """Whether ``node`` is a task or step whose action ran and made it ready (a collection
    or process that became ready ran nothing of its own)."""
    return node.status is NodeStatus.READY and node.kind in (NodeKind.TASK, NodeKind.STEP)


def first_line(error: BaseException) -> str:
    """The first line of an error's message, or its type's name when it has none."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def totals(states: Sequence[str], ran: int) -> dict[str, int]:
    """Counts per state plus ``total`` and ``ran``."""
    counts = dict.fromkeys(STATES, 0)
    for name in states:
        counts[name] += 1
    return {"total": len(states), "ran": ran, **counts}


def node_record(node: Node, attempts: Sequence[Attempt] = ()) -> NodeRecord:
    """The record of ``node`` as it stands now."""
    error = node.error if node.status in (NodeStatus.FAILED, NodeStatus.CANCELLED) else None
    now = state(node)
    return NodeRecord(
        name=node.taskname,
        kind=node.kind.value,
        state=now,
        requires=tuple(r.taskname for r in requirements(node)) if node._deps else (),
        blocked_by=tuple(b.taskname for b in blockers(node)) if now == "blocked" else (),
        attempts=tuple(attempts),
        error=first_line(error) if error is not None else None,
        traceback="".join(traceback.format_exception(error)) if error is not None else None,
    )


class _Open:
    """An attempt in progress (mutable until the attempt ends)."""

    __slots__ = ("number", "start", "wall", "worker")

    def __init__(self, number: int, worker: str) -> None:
        self.number = number
        self.start = time.monotonic()
        self.wall = time.time()
        self.worker = worker

    def close(self, outcome: str, error: str | None) -> Attempt:
        seconds = max(time.monotonic() - self.start, 0.0)
        return Attempt(self.number, self.wall, seconds, self.worker, outcome, error)


_OUTCOMES = {NodeStatus.READY: "ready", NodeStatus.NOT_READY: "not ready",
             NodeStatus.FAILED: "failed", NodeStatus.CANCELLED: "cancelled"}


class RunFacts(Observer):
    """The observer that keeps the facts of a run and leaves a :class:`RunRecord` behind.

    ``arguments`` and ``settings`` are recorded as given; by default they are read from the
    root (a process's arguments, a task function's call) and from the run's own settings.
    After the run, :attr:`record` (and ``root.run_record``) hold the record. An observer given
    to several runs starts afresh for each, with a new run id unless one was given.
    """

    def __init__(self, *, arguments: Mapping[str, Any] | None = None,
                 settings: Mapping[str, Any] | None = None, run_id: str | None = None) -> None:
        self._given = (arguments, settings, run_id)
        self._fresh = True
        self.record: RunRecord | None = None
        self._reset()

    def _reset(self) -> None:
        """Forget any earlier run: what is kept is per run."""
        arguments, settings, run_id = self._given
        self.arguments = dict(arguments) if arguments is not None else None
        self.settings = dict(settings) if settings is not None else None
        self.run_id = run_id or uuid.uuid4().hex
        self._nodes: list[Node] = []
        self._open: dict[int, _Open] = {}
        self._attempts: dict[int, list[Attempt]] = {}
        self._start = self._wall = 0.0
        self._remote = ""
        self._store: Any = None

    def run_started(self, root: Node, nodes: Sequence[Node]) -> None:
        if not self._fresh:  # the same observer given to another run
            self._reset()
        self._fresh = False
        self._nodes = [n for n in nodes if counted(n)]
        active = getattr(root._session, "active", None)
        run_settings = getattr(active, "settings", None)
        if self.settings is None:
            self.settings = _settings_of(run_settings)
        if self.arguments is None:
            self.arguments = arguments_of(root)
        self._store = getattr(active, "store", None)
        self._remote = _remote_kind(run_settings)
        self._wall, self._start = time.time(), time.monotonic()

    def node_started(self, node: Node) -> None:
        self._open[id(node)] = _Open(node.attempt, self._worker(node))

    def node_retrying(self, node: Node, error: BaseException, delay: float) -> None:
        self._close(node, "retried", first_line(error))

    def node_finished(self, node: Node) -> None:
        if id(node) in self._open:
            error = node.error if node.status in (NodeStatus.FAILED, NodeStatus.CANCELLED) \
                else None
            self._close(node, _OUTCOMES.get(node.status, node.status.value),
                        first_line(error) if error is not None else None)

    def run_finished(self, root: Node, reason: StopReason | None) -> None:
        with _gc.paused():  # a record per node, all long-lived: nothing to collect
            self.record = self.make_record(root, reason)
        session = root._session
        if session is not None:
            session.record = self.record
        if self.record.identifier is not None and self._store is not None:
            save(self._store, self.record)

    def make_record(self, root: Node, reason: StopReason | None = None) -> RunRecord:
        """The record of the run so far (``run_finished`` makes the final one)."""
        nodes = self._nodes or [root]
        records = [node_record(n, self._attempts.get(id(n), ())) for n in nodes]
        ran = sum(1 for n in nodes if ran_action(n))
        return RunRecord(
            run_id=self.run_id, root=root.taskname, identifier=identifier_of(root),
            arguments=_plain(self.arguments or {}), settings=_plain(self.settings or {}),
            start=self._wall, seconds=time.monotonic() - self._start,
            stopped=reason.value if reason is not None else None,
            totals=totals([r.state for r in records], ran), nodes=tuple(records),
        )

    def _worker(self, node: Node) -> str:
        """Where an attempt runs. An attempt on a thread is announced on that thread; one
        sent to worker processes or Dask is announced on the run's thread when handed over."""
        option = node.options.executor
        if option == "process":
            return "process"
        if option != "thread" and self._remote:
            return self._remote
        return threading.current_thread().name

    def _close(self, node: Node, outcome: str, error: str | None) -> None:
        current = self._open.pop(id(node), None)
        if current is not None:
            self._attempts.setdefault(id(node), []).append(current.close(outcome, error))


def identifier_of(root: Node) -> str | None:
    """The process identifier of a process root (``None`` for anything else)."""
    value = getattr(root.hooks, "identifier", None)
    return value if isinstance(value, str) else None


def arguments_of(root: Node) -> dict[str, Any]:
    """The arguments a root was built with: a task function's call, a process's keywords."""
    call = root.call
    if isinstance(call, tuple) and len(call) == 3:
        _, args, kwargs = call
        return {**({"args": list(args)} if args else {}), **dict(kwargs)}
    rebuild = root._rebuild
    if isinstance(rebuild, functools.partial) and len(rebuild.args) >= 4:
        options, kwargs = rebuild.args[2], rebuild.args[3]
        out = dict(kwargs) if isinstance(kwargs, dict) else {}
        if options:
            out["options"] = options
        return out
    return {}


def _remote_kind(settings: Any) -> str:
    """Where a run sends actions by default when not to threads: ``process``, ``dask``."""
    executor = getattr(settings, "executor", None)
    executor = getattr(executor, "value", executor)
    if executor is not None and not isinstance(executor, str):
        name = type(executor).__name__.lower()
        return "dask" if "dask" in name else name
    if executor == "process" or bool(getattr(settings, "processes", None)):
        return "process"
    return ""


def _settings_of(settings: Any) -> dict[str, Any]:
    out = {}
    for name in _SETTINGS:
        value = getattr(settings, name, None)
        out[name] = getattr(value, "value", value)
    return out


def _plain(value: Mapping[str, Any]) -> dict[str, Any]:
    """JSON-able data: what JSON cannot say is written as its repr."""
    data: dict[str, Any] = json.loads(json.dumps(value, default=_describe))
    return data


def _describe(value: Any) -> Any:
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value) if hasattr(value, "__fspath__") else repr(value)


def save(store: Any, record: RunRecord) -> None:
    """Keep ``record`` with a state store, as the last run of its process identifier.

    The state stores keep it themselves (``keep_run``); any other store object keeps it,
    here, for as long as it lives.
    """
    assert record.identifier is not None
    store = getattr(store, "store", store)  # a run's use of a store: the store itself
    keep = getattr(store, "keep_run", None)
    if keep is not None:
        keep(record.identifier, record.to_data())
        return
    with contextlib.suppress(TypeError):
        _kept.setdefault(store, {})[record.identifier] = record.to_data()


def load(store: Any, identifier: str) -> RunRecord | None:
    """The last run record kept for ``identifier`` with a state store (or a state file)."""
    if isinstance(store, (str, os.PathLike)):
        if not Path(store).exists():
            return None
        from tasktronaut.state import SQLiteStore

        with SQLiteStore(store) as opened:
            return load(opened, identifier)
    if hasattr(store, "last_run"):
        data = store.last_run(identifier)
    else:
        with contextlib.suppress(TypeError):
            data = _kept.get(store, {}).get(identifier)
    return RunRecord.from_data(data) if isinstance(data, Mapping) else None


_kept: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


def run_record(root: Node) -> RunRecord | None:
    """The record of the run that returned ``root`` (``None`` if it ran without facts)."""
    record = getattr(root._session, "record", None)
    return record if isinstance(record, RunRecord) and record.root == root.taskname else None
