"""Freshness triggers: when a task whose assets are there is still not ready.

The default stays iotaa's: a task is ready when its assets are. A task (or a step with
declared assets) may opt in to one trigger with ``@task(stale_if=...)``:

- ``"newer"``, make's rule: the task is stale when one of its file assets is older than a
  file asset of a requirement, or when a requirement is not ready itself (it is about to be
  made, so it will be newer).
- ``"changed"``: a fingerprint of its inputs (each requirement asset: a file's content hash,
  otherwise its ref; the task's arguments; the source of its function) is recorded in the
  state store when the task is done; a different fingerprint makes it stale. A stale
  requirement makes its dependents with a trigger stale too.

The check reads requirements' readiness (it builds them; nothing runs), as iotaa does for
requirements already built. ``"changed"`` needs the recorded fingerprints, which a run with a
state store binds through :data:`recorded` while it builds the graph; without them the task
is judged by its assets.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tasktronaut.model.assets import Asset, flatten_assets

if TYPE_CHECKING:
    from tasktronaut.model.node import Node

NAMESPACE = "fresh:"
"""The store identifier under which fingerprints are recorded, one per task name."""

recorded: ContextVar[dict[str, Any] | None] = ContextVar("tasktronaut_fresh", default=None)
"""Task name -> recorded fingerprint, while a run with a store builds its graph."""


def _files(value: Any) -> list[Path]:
    paths = []
    for asset in flatten_assets(value):
        ref = asset.ref if isinstance(asset, Asset) else None
        if isinstance(ref, os.PathLike):
            path = Path(ref)
            if path.is_file():
                paths.append(path)
    return paths


expand_ready: ContextVar[bool] = ContextVar("tasktronaut_expand_ready", default=False)
"""While true, a graph is expanded below ready nodes too (their readiness is still read and
kept), so that a run with ``force`` can find the forced nodes wherever they are."""


def _effectively_ready(node: Node) -> bool:
    """A requirement's readiness, its own trigger included (read once, then kept)."""
    ready = node.ready
    if ready and node.options.stale_if is not None:
        if stale(node):
            node._ready = ready = False
        elif node._deps and not expand_ready.get():
            # The check built its requirements; it is ready, so prune them as a walk would.
            node.status = type(node.status).ALREADY_READY
            node._expander = None
            node._release()
            node._deps = ()
    return ready


def _newer(node: Node, deps: tuple[Node, ...]) -> str | None:
    own = _files(node._asset)
    if not own:
        return None
    oldest = min(own, key=lambda p: p.stat().st_mtime)
    for dep in deps:
        for path in _files(dep._asset):
            if path.stat().st_mtime > oldest.stat().st_mtime:
                return f"{oldest} is older than {path}"
    return None


def fingerprint(node: Node) -> str:
    """The fingerprint of ``node``'s inputs for ``stale_if="changed"``."""
    import hashlib  # only tasks with this trigger need them: not at start-up
    import inspect

    from tasktronaut.state.fingerprint import canonical, digest

    parts: list[str] = []
    for dep in node._expanded_deps():
        for asset in flatten_assets(dep._asset):
            ref = asset.ref
            if isinstance(ref, os.PathLike) and Path(ref).is_file():
                parts.append(f"{dep.taskname}:{hashlib.sha256(Path(ref).read_bytes()).hexdigest()}")
            else:
                parts.append(f"{dep.taskname}:{canonical(ref)}")
    call = node.call
    if isinstance(call, tuple) and len(call) == 3:  # an asset task: (function, args, kwargs)
        function, args, kwargs = call
    else:  # a process step
        function, args, kwargs = getattr(call, "function", None), (), getattr(call, "kwargs", {})
    parts.append(canonical([args, kwargs]))
    target = getattr(function, "func", function)
    target = getattr(target, "__func__", target)
    try:
        parts.append(inspect.getsource(target) if target is not None else "")
    except (OSError, TypeError):
        parts.append(getattr(target, "__qualname__", repr(target)))
    return digest("\n".join(parts))


def reason(node: Node) -> str | None:
    """Why ``node``, whose assets are ready, is stale (None: it is not)."""
    trigger = node.options.stale_if
    deps = node._expanded_deps()
    for dep in deps:
        if dep.kind.value != "join" and not _effectively_ready(dep):
            return f"stale ({trigger}): requirement {dep.taskname} is not ready"
    if trigger == "newer":
        found = _newer(node, deps)
        return None if found is None else f"stale (newer): {found}"
    known = recorded.get()
    if known is None:
        return None
    if node.taskname not in known:
        return "stale (changed): no fingerprint of its inputs recorded yet"
    if known[node.taskname] != fingerprint(node):
        return "stale (changed): its inputs changed since it was done"
    return None


def stale(node: Node) -> bool:
    """Whether ``node``, whose assets are ready, is not ready by its trigger."""
    return reason(node) is not None
