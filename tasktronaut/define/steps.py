"""What exists while a process runs: the step ``Context``, how a step is called and
hooked (:class:`StepCall`), the step action, and the picklable job for worker processes.
Per-process state (results, hooks, cancellation, record keys) is in
:mod:`tasktronaut.define.runs`."""

from __future__ import annotations

import enum
import pickle
import threading
import time
import types
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from tasktronaut.define.runs import ALWAYS, ProcessRun, function_key
from tasktronaut.define.signature import call_with
from tasktronaut.errors import ArgumentError, TasktronautError
from tasktronaut.logs import log
from tasktronaut.model.assets import Asset
from tasktronaut.model.node import Node
from tasktronaut.model.protocols import NodeHooks

if TYPE_CHECKING:
    from tasktronaut.define.process import ProcessDefinition

_NO_INPUTS: Mapping[str, str] = types.MappingProxyType({})


class ExecutionMode(enum.Enum):
    """How the steps of a process (or block) relate to each other."""

    SEQUENTIAL = "sequential"
    """Each step requires the one before it."""
    CONCURRENT = "concurrent"
    """Steps require only what came before the block, and may run at the same time."""


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


class StepCall(NodeHooks):
    """How to run one step: the callable, the arguments it accepts, and its process.

    One is made per step while a process is built, so it is a hand-written slotted class
    (the attrs one, with two dicts of its own, cost about twice as much to make). What only
    a state store, the hooks or the plan ask for is worked out when first asked for: the
    record key and the description.
    """

    __slots__ = ("_around", "_attempts", "_description", "_key", "declared", "function",
                 "given", "inputs", "kwargs", "label", "origin", "run", "scope", "wants_context")

    def __init__(self, run: ProcessRun, function: Callable[..., Any], kwargs: dict[str, Any],
                 wants_context: bool, scope: Any, label: str, given: str | None,
                 explicit: str | None) -> None:
        self.run = run
        self.function = self.origin = function  # ``function`` may be replaced (testing)
        self.kwargs = kwargs
        self.wants_context = wants_context
        self.scope = scope  # the builder's scope: arguments, items, record-key path
        self.label, self.given = label, given  # the callable's name; builder.task's description
        self._description = explicit
        self.declared = False  # whether the step declares an asset (else its result is)
        self.inputs: Mapping[str, str] = _NO_INPUTS  # parameter -> the step whose result it takes
        self._key: str | None = None
        self._around: Any = None
        self._attempts: dict[int, threading.Event] | None = None

    def __repr__(self) -> str:
        return f"StepCall({self.label!r}, kwargs={self.kwargs!r})"

    @property
    def description(self) -> str:
        """The step's description: given, from ``@task``, inherited, or its method's name."""
        text = self._description
        if not text:
            text = self._description = self.scope.description or self.label.rpartition(".")[2]
        return text

    @property
    def all_kwargs(self) -> dict[str, Any]:
        """Every argument in scope where the step was added (the process's and its items')."""
        return self.scope.kwargs  # type: ignore[no-any-return]

    @property
    def key(self) -> str:
        """The step's record key: its path in the process tree (never its build order)."""
        if self._key is None:
            self.run.record_keys.settle()
        assert self._key is not None
        return self._key

    def key_base(self) -> str:
        """The record key before it is made unique: process path, items, description."""
        return " / ".join((*self.run.path, *self.scope.path, self.given or self.label))

    def claimed(self, key: str) -> None:
        self._key = key

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
        attempts = self._attempts
        if attempts is None:
            attempts = self._attempts = {}
        event = attempts.get(attempt)
        if event is None:
            event = attempts[attempt] = threading.Event()
        return event

    def abandon(self, node: Node) -> None:
        self.attempt_event(node.attempt).set()

    def cancelled(self) -> bool:
        return self.run.cancel_event.is_set()

    def starting(self, node: Node) -> None:
        if not self.run.started:
            self.run.ensure_started()

    def plain(self, node: Node) -> bool:
        """Once its process started (and unless it was cancelled), a step with no declared
        asset is only to be called."""
        run = self.run
        return run.started and not self.declared and not run.cancel_event.is_set()

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
        node._asset = self.run.keep(node.taskname, result)
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
            asset = self.run.keep(node.taskname, value)
            if not self.declared:
                node._asset = asset


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


def run_step(node: Node) -> Any:
    """A step's action: fire ``on_started`` if first, call the step inside ``around_task``.

    A step that takes no ``context``, has no timeout and whose definition keeps the default
    ``around_task`` is only called: that is most steps, and the wrapper would cost more than
    a no-op step itself.
    """
    call: StepCall = node.call
    run = call.run
    if not run.started:
        run.ensure_started()
    if run.wrapped or call.wants_context or node.options.timeout:
        return _wrapped_step(node, call, run)
    result = call.function(**(call.arguments() if call.inputs else call.kwargs))
    name = node.taskname  # run.keep(), inline: this is every step's path
    run.results[name] = result
    asset = run.assets[name] = Asset(result, ALWAYS)
    if not call.declared:
        node._asset = asset
    return result


def _wrapped_step(node: Node, call: StepCall, run: ProcessRun) -> Any:
    """Call a step inside ``around_task``, with its ``Context`` (and its attempt's flag)."""
    attempt = node.attempt
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
    asset = call.run.keep(node.taskname, result)
    if not call.declared:
        node._asset = asset
    return result


def complete_process(node: Node) -> dict[str, Any]:
    """A process node's action, run once all its steps are ready: ``on_completed``."""
    run: ProcessRun = node.hooks  # type: ignore[assignment]
    run.ensure_started()
    run.definition.on_completed(run.identifier)
    node._asset = run.result_assets()
    if run.parent is not None:
        run.parent.results[node.taskname] = dict(run.results)
    return dict(run.results)
