"""Running and cancelling a graph from one of its nodes: the part of a ``Node`` that
reaches up into the engine.

It is a base class of :class:`~tasktronaut.model.node.Node` rather than part of it so that
the graph model (identity, readiness, requirements) reads on its own, and so that the one
sanctioned upward import (the engine, imported inside the functions) lives in one place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from tasktronaut.errors import CancelProcessError

if TYPE_CHECKING:
    from tasktronaut.model.node import Node
    from tasktronaut.model.protocols import NodeHooks


class RunControl:
    """``run``, ``arun`` and ``cancel`` of a node, and what its last run left behind."""

    __slots__ = ()
    taskname: str
    hooks: NodeHooks | None
    _session: Any

    def run(self, **settings: Any) -> Node:
        """Run the graph below this node and return its root (``.ready`` tells the outcome).

        Settings: ``threads`` (default 1), ``processes``, ``executor``, ``dry_run``, ``log``,
        ``fail_fast``, ``listener`` (called with each node as it gets its final status),
        ``state``, ``observers`` (objects that hear the run's events, such as ``RunFacts``,
        which leaves :attr:`run_record` on the returned root), ``resources``
        (``{"db": 2}``: limits of named resources) and ``async_limit``. A graph runs once;
        running an already-run node builds its graph afresh (readiness is read again) and
        runs that, returning the new root.
        """
        from tasktronaut.engine import run  # the one sanctioned upward import

        return run(cast("Node", self), **settings)

    async def arun(self, **settings: Any) -> Node:
        """:meth:`run` for applications that live on asyncio: ``await node.arun(...)``.

        The run is driven from a worker thread, so the caller's event loop stays free; async
        actions run on the caller's loop, thread and process actions on their workers.
        Cancelling the awaiting task cancels the run (nothing new starts; running coroutines
        are cancelled) and waits for it to wind down.
        """
        import asyncio

        from tasktronaut.engine import run  # the one sanctioned upward import

        node = cast("Node", self)
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(asyncio.to_thread(run, node, loop=loop, **settings))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            self.cancel()
            await asyncio.wait([task])
            raise

    def submit(self, **settings: Any) -> Any:
        """Queue a run of this graph and return its handle at once: ``identifier``,
        ``backend``, ``state``, ``settings`` (see :func:`tasktronaut.background.submit`)."""
        from tasktronaut.background import submit  # sanctioned, like run()

        return submit(self, **settings)

    def cancel(self) -> None:
        """Cancel the run this node belongs to, from any thread.

        Nothing new starts; running actions finish (steps see ``context.cancelled``); a
        process node also fires ``on_cancelled`` for the parts that had started.
        """
        if self.hooks is not None:
            error = CancelProcessError(f"'{self.taskname}' was cancelled")
            self.hooks.cancel(cast("Node", self), error)
        session = self._session
        if session is not None:
            session.cancel.set()
            if session.active is not None:
                session.active.request_cancel()

    @property
    def run_record(self) -> Any:
        """What the run that returned this root did (a ``RunRecord``: attempts, timings,
        errors, totals), when it ran with ``RunFacts``; ``None`` otherwise."""
        record = getattr(self._session, "record", None)
        return record if getattr(record, "root", None) == self.taskname else None

    @property
    def interrupted(self) -> int | None:
        """The signal (``signal.SIGINT``, ``SIGTERM``) that stopped this node's last run."""
        return self._session.interrupted if self._session is not None else None
