"""Testing processes without running them, and a pytest plugin.

Three things a test usually wants of a process definition:

* its **plan** as plain data (blocks, steps, their arguments and descriptions), to compare
  with an expected literal: :func:`plan`;
* the **order** its steps would run in, with nothing executed and no hook called:
  :func:`order`;
* a **run with some steps replaced** by mocks, to assert calls and arguments:
  :func:`run_with`.

These helpers need no pytest. The pytest plugin (:mod:`tasktronaut.pytest_plugin`,
registered through the ``pytest11`` entry point) offers them as the ``tasktronaut`` fixture.
"""

from __future__ import annotations

import copy
from typing import Any

from tasktronaut.define.process import ProcessDefinition
from tasktronaut.define.runs import ProcessRun
from tasktronaut.define.steps import StepCall
from tasktronaut.engine.schedule import predicted_order
from tasktronaut.model.node import Node, NodeKind, traverse, walk

_RUNS = (NodeKind.TASK, NodeKind.STEP)


def plan(definition: type[ProcessDefinition], identifier: str | None = None,
         options: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    """The compiled plan of a process as nested plain data; nothing runs.

    ``{"process": name, "mode": "sequential", "steps": [...]}`` where each item is a step
    ``{"step": name, "description": ..., "kwargs": {...}}``, a block
    ``{"sequential" | "concurrent": [...], "description"?: ..., "kwargs"?: {...}}``, an
    embedded process (same shape as the top level) or an asset task ``{"task": name}``.
    """
    root = definition.build(identifier, options, **kwargs)
    run = root.hooks
    assert isinstance(run, ProcessRun)
    return copy.deepcopy(run.plan)


def order(target: type[ProcessDefinition] | Node, identifier: str | None = None,
          options: dict[str, Any] | None = None, **kwargs: Any) -> list[str]:
    """The names of the steps and tasks in the order one thread would run them.

    Nothing runs: every action is assumed to succeed. Tasks already ready are left out, as
    they would not run. The order comes from the engine's own schedule (priorities
    included), so it cannot disagree with a real run on one thread.
    """
    root = target if isinstance(target, Node) else target.build(identifier, options, **kwargs)
    return [n.taskname for n in predicted_order(walk(root)) if n.kind in _RUNS]


def steps(root: Node) -> list[Node]:
    """The step nodes below ``root`` (in no particular order)."""
    return [n for n in traverse(root) if n.kind is NodeKind.STEP]


def replace_steps(root: Node, replacements: dict[str, Any]) -> list[str]:
    """Make steps call replacements instead, by method name (``{"load": mock}``).

    The replacement receives the same keyword arguments (and ``context`` when the step
    declares it). Returns the names of the steps replaced; raises ``KeyError`` naming a
    method no step uses.
    """
    replaced, used = [], set()
    for node in steps(root):
        call = node.call
        assert isinstance(call, StepCall)
        method = getattr(call.function, "__name__", None)
        if method in replacements:
            call.function = replacements[method]
            replaced.append(node.taskname)
            used.add(method)
    unknown = set(replacements) - used
    if unknown:
        raise KeyError(f"no step calls {', '.join(sorted(unknown))}")
    return replaced


def run_with(definition: type[ProcessDefinition], replace: dict[str, Any],
             identifier: str | None = None, options: dict[str, Any] | None = None,
             threads: int = 1, **kwargs: Any) -> Node:
    """Build the process, replace some steps (by method name), run it; return the root."""
    root = definition.build(identifier, options, **kwargs)
    replace_steps(root, replace)
    return root.run(threads=threads)


class ProcessTester:
    """The ``tasktronaut`` fixture: :func:`plan`, :func:`order` and :func:`run_with`."""

    plan = staticmethod(plan)
    order = staticmethod(order)
    steps = staticmethod(steps)
    run_with = staticmethod(run_with)

