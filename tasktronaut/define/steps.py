"""What exists while a process runs: per-process state (results, hooks, cancellation), the
step ``Context``, the step action, and the picklable job for worker processes."""

from __future__ import annotations

import enum
import functools
import pickle
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

from tasktronaut.define.signature import call_with
from tasktronaut.errors import ArgumentError, TasktronautError
from tasktronaut.logs import log
from tasktronaut.model.assets import Asset
from tasktronaut.model.node import Node
from tasktronaut.model.protocols import NodeHooks

if TYPE_CHECKING:
    from tasktronaut.define.process import ProcessDefinition


def function_key(func: Any) -> str:
    """A name for the function behind a step that is the same in every process."""
    target = getattr(func, "__func__", func)
    try:
        return _function_key(target)
    except TypeError:  # not hashable: work it out every time
        return _function_key.__wrapped__(target)


@functools.lru_cache(maxsize=4096)
def _function_key(target: Any) -> str:
    module = getattr(target, "__module__", None) or ""
    return f"{module}:{getattr(target, '__qualname__', None) or repr(target)}"


class ExecutionMode(enum.Enum):
    """How the steps of a process (or block) relate to each other."""

    SEQUENTIAL = "sequential"
    """Each step requires the one before it."""
    CONCURRENT = "concurrent"
    """Steps require only what came before the block, and may run at the same time."""


@attrs.define(eq=False)
class ProcessRun(NodeHooks):
    """One compiled process: its definition instance, results, and lifecycle state."""

    definition: ProcessDefinition
    identifier: str | None
    name: str
    options: dict[str, Any]
    parent: ProcessRun | None = None
    results: dict[str, Any] = attrs.field(factory=dict)
    steps_by_function: dict[Any, list[str]] = attrs.field(factory=dict)
    children: list[ProcessRun] = attrs.field(factory=list)
    started: bool = False
    plan: dict[str, Any] = attrs.field(factory=dict)
    generated_identifier: bool = False
    scopes: dict[str, tuple[int, ...]] = attrs.field(factory=dict)
    path: tuple[str, ...] = ()
    """Where this process sits in the top one: the record-key segments of its steps."""
    key: str = ""
    """The record key of this process's own completion."""
    arguments: dict[str, str] = attrs.field(factory=dict)
    """The top process's arguments and options as canonical text (its fingerprint)."""
    keys: list[str] = attrs.field(factory=list)
    """The record keys of this process's steps and sub-processes."""
    watches_changes: bool = False
    """Whether a step of the top process has ``stale_if="changed"`` (set on the top)."""
    _claimed: set[str] = attrs.field(factory=set)
    _recorded: dict[int, dict[str, Any]] = attrs.field(factory=dict)
    cancel_event: threading.Event = attrs.field(factory=threading.Event)
    _lock: threading.Lock = attrs.field(factory=threading.Lock)

    @property
    def top(self) -> ProcessRun:
        """The top-level process this one belongs to."""
        run = self
        while run.parent is not None:
            run = run.parent
        return run

    def claim(self, base: str) -> str:
        """A record key unique in the top process: ``base``, or ``base #n`` for the n-th
        identical one (identical steps in one scope can only be told apart by order)."""
        claimed = self.top._claimed
        key, n = base, 1
        while key in claimed:
            n += 1
            key = f"{base} #{n}"
        claimed.add(key)
        return key

    def ensure_started(self) -> None:
        """Fire ``on_started`` once (the parents first)."""
        if self.parent is not None:
            self.parent.ensure_started()
        with self._lock:
            first, self.started = not self.started, True
        if first:
            self.definition.on_started(self.identifier)

    def cancelled(self) -> bool:
        return self.top.cancel_event.is_set()

    def cancel(self, node: Node, error: BaseException) -> bool:
        self.cancel_tree()
        return True

    def recorded(self, store: Any) -> dict[str, Any]:
        """What ``store`` holds for this process's identifier (read once per run).

        A run's records (see ``tasktronaut.engine.records``) also check that they were made
        with the same arguments, and hold the identifier's lease for the run.
        """
        if self.identifier is None or self.generated_identifier:
            raise ArgumentError(
                f"{self.name}: a state store records progress per process identifier; "
                "give the process one (build(identifier=...) or --id)",
                name="identifier",
            )
        top = self.top
        cached = top._recorded.get(id(store))
        if cached is None:
            begin = getattr(store, "begin", None)
            cached = top._recorded[id(store)] = (
                begin(self.identifier, top.arguments, top.name) if begin is not None
                else store.completed(self.identifier))
        return cached

    def restore(self, node: Node, store: Any) -> bool:
        """The process node itself: done if its completion was recorded."""
        recorded = self.recorded(store)
        if self.key not in recorded or any(k not in recorded for k in self.keys):
            return False
        node._asset = {k: Asset(v, _ALWAYS) for k, v in self.results.items()}
        if self.parent is not None:
            self.parent.results[node.taskname] = dict(self.results)
        return True

    def record(self, node: Node, store: Any) -> None:
        """Record that the whole process completed (its steps' results are recorded each)."""
        assert self.identifier is not None
        store.record(self.identifier, self.key, "completed")

    def cancel_tree(self) -> None:
        """Cancel the top-level process: flag it, then ``on_cancelled`` for started parts."""
        top = self.top
        with top._lock:
            if top.cancel_event.is_set():
                return
            top.cancel_event.set()
        todo = [top]
        while todo:
            run = todo.pop()
            if run.started:
                run.definition.on_cancelled(run.identifier)
            todo.extend(run.children)

    def result_of(self, step: Any, caller: str | None = None) -> Any:
        """The result of an earlier step of this process, by name or by function.

        Asked by a step inside an ``each`` iteration, a function used once per iteration
        means that iteration's step (or one in an iteration around it).
        """
        if isinstance(step, str):
            if step not in self.results:
                raise KeyError(f"no result for step '{step}' (completed: {list(self.results)})")
            return self.results[step]
        names = self.steps_by_function.get(function_key(step), [])
        if len(names) > 1 and caller is not None:
            here = self.scopes.get(caller, ())
            names = [n for n in names if here[:len(self.scopes.get(n, ()))]
                     == self.scopes.get(n, ())] or names
        done = [n for n in names if n in self.results]
        if len(names) > 1:
            raise ArgumentError(
                f"{getattr(step, '__qualname__', step)} is used by {len(names)} steps "
                f"({', '.join(names)}); ask for one by name",
                name="step",
            )
        if not done:
            raise KeyError(f"no result yet for {getattr(step, '__qualname__', step)!r}")
        return self.results[done[0]]


@attrs.define(eq=False)
class Context:
    """What a step sees of its run: who it is, its arguments, earlier results, the logger.

    A step receives it when it declares a ``context`` parameter.
    """

    identifier: str | None = None
    step: str = ""
    description: str = ""
    kwargs: dict[str, Any] = attrs.field(factory=dict)
    options: dict[str, Any] = attrs.field(factory=dict)
    attempt: int = 1
    _run: ProcessRun | None = attrs.field(default=None, repr=False)
    _abandoned: threading.Event | None = attrs.field(default=None, repr=False)

    @property
    def log(self) -> Any:
        """The logger of the run (accepts ``%``-style calls)."""
        return log

    @property
    def cancelled(self) -> bool:
        """True once the process was cancelled, or this attempt timed out and was given up
        on; long steps should check it and stop."""
        return (self._run is not None and self._run.cancelled()) or (
            self._abandoned is not None and self._abandoned.is_set())

    @property
    def results(self) -> dict[str, Any]:
        """Results of the steps of this process completed so far, by step name."""
        return dict(self._run.results) if self._run is not None else {}

    def result(self, step: Any) -> Any:
        """The result of an earlier step: pass its method (``self.load``) or its name."""
        if self._run is None:
            raise KeyError(f"no result for {getattr(step, '__qualname__', step)!r}: this "
                           "Context belongs to no process run")
        return self._run.result_of(step, self.step)


@attrs.define(eq=False)
class StepCall(NodeHooks):
    """How to run one step: the callable, the arguments it accepts, and its process."""

    run: ProcessRun
    function: Callable[..., Any]
    kwargs: dict[str, Any]
    wants_context: bool
    description: str
    all_kwargs: dict[str, Any]
    declared: bool = False
    key: str = ""
    """The step's record key: its path in the process tree (never its build order)."""
    inputs: dict[str, str] = attrs.field(factory=dict)
    """Parameters that take an earlier step's result: parameter name -> that step's name."""
    _around: Any = attrs.field(default=None, init=False, repr=False)
    _attempts: dict[int, threading.Event] = attrs.field(factory=dict, init=False, repr=False)

    def arguments(self, context: Context | None = None) -> dict[str, Any]:
        """The keyword arguments of a call: the process arguments the step accepts, earlier
        results for its ``inputs``, and ``context`` if it takes one."""
        kwargs = self.kwargs
        if self.inputs:
            results = self.run.results
            kwargs = {**kwargs, **{p: results[step] for p, step in self.inputs.items()}}
        if self.wants_context and context is not None:
            kwargs = {**kwargs, "context": context}
        return kwargs

    def attempt_event(self, attempt: int) -> threading.Event:
        """Set when the engine gives up on this attempt (a timeout)."""
        event = self._attempts.get(attempt)
        if event is None:
            event = self._attempts[attempt] = threading.Event()
        return event

    def abandon(self, node: Node) -> None:
        self.attempt_event(node.attempt).set()

    def cancelled(self) -> bool:
        return self.run.cancelled()

    def starting(self, node: Node) -> None:
        if not self.run.started:
            self.run.ensure_started()

    def _cache(self, node: Node) -> tuple[str, str] | None:
        """The (namespace, key) of this step's cached result, if it caches."""
        make_key = node.options.cache_key
        if make_key is None:
            return None
        return f"cache:{function_key(self.function)}", str(call_with(make_key, self.all_kwargs))

    def restore(self, node: Node, store: Any) -> bool:
        """Done already if the store has this step for the process identifier (or, for a
        step with a ``cache_key``, a fresh enough cached result)."""
        if self.declared:
            return False
        cache = self._cache(node)
        if cache is not None:
            entry = store.completed(cache[0]).get(cache[1])
            ttl = node.options.cache_ttl
            if entry is not None and (ttl is None or time.time() - entry["at"] <= ttl):
                return self._reuse(node, entry["result"])
        recorded = self.run.recorded(store)
        if self.key not in recorded:
            return False
        return self._reuse(node, recorded[self.key])

    def _reuse(self, node: Node, result: Any) -> bool:
        self.run.results[node.taskname] = result
        node._asset = Asset(result, _ALWAYS)
        node.result = result
        return True

    def record(self, node: Node, store: Any) -> None:
        result = self.run.results.get(node.taskname)
        cache = self._cache(node)
        if cache is not None:
            try:
                store.record(cache[0], cache[1], {"result": result, "at": time.time()})
            except TasktronautError as e:
                raise TasktronautError(
                    f"step '{node.taskname}': its result cannot be cached: {e}") from e
        if not self.declared:
            assert self.run.identifier is not None
            store.record(self.run.identifier, self.key, result)

    def failed(self, node: Node, error: BaseException) -> None:
        self.run.definition.on_failed(self.run.identifier, node.taskname, error)

    def cancel(self, node: Node, error: BaseException) -> bool:
        self.run.cancel_tree()
        return True

    def remote(self, node: Node) -> PickledJob:
        """Start ``node`` for a worker process: hooks here, the step shipped by reference."""
        run = self.run
        function: Any = self.function
        owner = getattr(function, "__self__", None)
        method = None
        if owner is run.definition and owner is not None:
            method, function = function.__func__.__name__, None
        # Earlier results go only to a step that can ask for them (one taking ``context``):
        # shipping every result with every job made a long process quadratic.
        wants = self.wants_context
        job = RemoteStep(type(run.definition), method, function, self.arguments(),
                         wants, run.identifier, node.taskname, self.description,
                         self.all_kwargs, run.options, node.attempt,
                         dict(run.results) if wants else {},
                         dict(run.steps_by_function) if wants else {})
        try:
            # pickled once, here, not again to send
            shipped = PickledJob(pickle.dumps(job), node.taskname, node.attempt)
        except Exception as e:
            raise ArgumentError(
                f"step '{node.taskname}' cannot run in a worker process: "
                f"{_unpicklable(job)}: {e}", name=node.taskname,
            ) from None
        context = Context(run.identifier, node.taskname, self.description, self.all_kwargs,
                          run.options, node.attempt, run)
        around = run.definition.around_task(run.identifier, node.taskname, self.description,
                                            context)
        around.__enter__()
        self._around = around
        return shipped

    def finish(self, node: Node, ok: bool, value: Any) -> None:
        """A remote step ended: leave ``around_task``, record the result."""
        around, self._around = self._around, None
        if around is not None:
            if ok:
                around.__exit__(None, None, None)
            else:
                around.__exit__(type(value), value, value.__traceback__)
        if ok:
            self.run.results[node.taskname] = value
            if not self.declared:
                node._asset = Asset(value, _ALWAYS)


def _unpicklable(job: RemoteStep) -> str:
    """Name what in a step's job cannot be pickled."""
    for name, value in job.kwargs.items():
        try:
            pickle.dumps(value)
        except Exception:
            return f"argument '{name}' ({type(value).__name__})"
    if job.function is not None:
        return f"its callable {job.function!r}"
    return f"its definition {job.definition.__qualname__}"


class PickledJob:
    """A job already pickled: the worker process unpickles and runs it. ``task`` and
    ``attempt`` label the records the job logs there."""

    __slots__ = ("attempt", "payload", "task")

    def __init__(self, payload: bytes, task: str | None = None, attempt: int | None = None):
        self.payload, self.task, self.attempt = payload, task, attempt

    def __call__(self) -> Any:
        return pickle.loads(self.payload)()

    def __reduce__(self) -> tuple[Any, ...]:
        return (PickledJob, (self.payload, self.task, self.attempt))


@attrs.frozen
class RemoteStep:
    """A step shipped to a worker process: definition class, method name, arguments."""

    definition: type[ProcessDefinition]
    method: str | None
    function: Callable[..., Any] | None
    kwargs: dict[str, Any]
    wants_context: bool
    identifier: str | None
    step: str
    description: str
    all_kwargs: dict[str, Any]
    options: dict[str, Any]
    attempt: int
    results: dict[str, Any]
    steps_by_function: dict[str, list[str]]

    def __call__(self) -> Any:
        instance = self.definition()
        function = getattr(instance, self.method) if self.method else self.function
        assert function is not None
        if not self.wants_context:
            return function(**self.kwargs)
        run = ProcessRun(instance, self.identifier, self.step, self.options)
        run.results.update(self.results)
        run.steps_by_function.update(self.steps_by_function)
        context = Context(self.identifier, self.step, self.description, self.all_kwargs,
                          self.options, self.attempt, run)
        return function(**self.kwargs, context=context)


_ALWAYS: Callable[[], bool] = lambda: True  # noqa: E731


def run_step(node: Node) -> Any:
    """A step's action: fire ``on_started`` if first, call the step inside ``around_task``."""
    call: StepCall = node.call
    run = call.run
    attempt = node.attempt
    if not run.started:
        run.ensure_started()
    hooked = not getattr(type(run.definition).around_task, "__tasktronaut_default__", False)
    if not (hooked or call.wants_context or node.options.timeout):
        return _step_result(node, call, call.function(**call.arguments()))
    abandoned = call.attempt_event(attempt)
    context = Context(run.identifier, node.taskname, call.description, call.all_kwargs,
                      run.options, attempt, run, abandoned)
    with run.definition.around_task(run.identifier, node.taskname, call.description,
                                    context):
        result = call.function(**call.arguments(context))
    if abandoned.is_set():
        return result
    return _step_result(node, call, result)


async def arun_step(node: Node) -> Any:
    """An ``async def`` step's action, awaited on the run's event loop (inside
    ``around_task``, like any step; a timeout or a stop cancels it where it awaits)."""
    call: StepCall = node.call
    run = call.run
    if not run.started:
        run.ensure_started()
    context = Context(run.identifier, node.taskname, call.description, call.all_kwargs,
                      run.options, node.attempt, run, call.attempt_event(node.attempt))
    with run.definition.around_task(run.identifier, node.taskname, call.description,
                                    context):
        result = await call.function(**call.arguments(context))
    return _step_result(node, call, result)


def _step_result(node: Node, call: StepCall, result: Any) -> Any:
    """Keep a step's result: later steps read it, and it is the step's asset's ref."""
    call.run.results[node.taskname] = result
    if not call.declared:
        node._asset = Asset(result, _ALWAYS)
    return result


def complete_process(node: Node) -> dict[str, Any]:
    """A process node's action, run once all its steps are ready: ``on_completed``."""
    run: ProcessRun = node.hooks  # type: ignore[assignment]
    run.ensure_started()
    run.definition.on_completed(run.identifier)
    node._asset = {name: Asset(value, _ALWAYS) for name, value in run.results.items()}
    if run.parent is not None:
        run.parent.results[node.taskname] = dict(run.results)
    return dict(run.results)
