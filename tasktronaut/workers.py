"""Where actions run: the calling thread, a thread pool, worker processes, or Dask.

The engine hands an executor a job with ``submit(ticket, job)``; when the job ends the
executor puts ``(ticket, ok, value)`` on the run's event queue (the job's return value if
``ok``, else the exception it raised). A ticket stands for one attempt of one node; executors
only pass it back. ``cancel(ticket)`` stops an attempt the engine gave up on (a timeout, a
stop): a thread cannot be killed, so it is abandoned and replaced; a worker process is killed.

Each executor has a ``capacity`` (jobs in flight at once) and says whether it is ``remote``: a
remote executor receives a picklable job (the definition layer makes it) instead of a closure,
and the engine checks readiness in the parent afterwards.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import logging.handlers
import multiprocessing
import os
import pickle
import signal
import threading
import traceback
import uuid
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from queue import Empty, SimpleQueue
from typing import Any, Protocol

from tasktronaut.errors import TasktronautError
from tasktronaut.graph import Node, NodeKind
from tasktronaut.logs import RunLog, current_log

Event = tuple[Node, bool, Any]
Events = SimpleQueue[Event]
Job = Callable[[], Any]


class WorkerError(TasktronautError):
    """A worker process died (or could not be reached) while running a task."""


class Executor(Protocol):
    """The interface between the engine and its workers."""

    capacity: int
    remote: bool

    def start(self, events: Events, log: RunLog) -> None:
        """Get ready to take jobs; outcomes go to ``events``, worker logs to ``log``."""

    def submit(self, node: Any, job: Job) -> None:
        """Start ``job`` for a ticket; its outcome is put on the event queue later."""

    def cancel(self, node: Any) -> None:
        """Stop (or abandon) the attempt behind a ticket; its outcome no longer matters."""

    def shutdown(self) -> None:
        """Stop taking jobs; jobs still running are abandoned, not waited for."""


class InlineExecutor:
    """One worker: the calling thread itself, so a job costs no hand-over at all."""

    capacity = 1
    remote = False

    def __init__(self) -> None:
        self._events: Events | None = None

    def start(self, events: Events, log: RunLog) -> None:
        self._events = events

    def submit(self, node: Any, job: Job) -> None:
        assert self._events is not None
        try:
            self._events.put((node, True, job()))
        except Exception as e:
            self._events.put((node, False, e))

    def cancel(self, node: Any) -> None:
        """Jobs here are over by the time anyone could cancel them."""

    def shutdown(self) -> None:
        """Nothing to stop."""


class ThreadExecutor:
    """A pool of ``threads`` worker threads, each running in a copy of the run's context."""

    remote = False

    def __init__(self, threads: int) -> None:
        self.capacity = threads
        self._todo: SimpleQueue[tuple[Any, Job] | None] = SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._running: dict[int, Any] = {}
        self._retired: set[int] = set()
        self._events: Events | None = None
        self._lock = threading.Lock()

    def start(self, events: Events, log: RunLog) -> None:
        self._events = events
        for _ in range(self.capacity):
            self._add_thread()

    def _add_thread(self) -> None:
        context = contextvars.copy_context()
        thread = threading.Thread(target=context.run, args=(self._work,), daemon=True,
                                  name=f"tasktronaut-thread-{len(self._threads)}")
        self._threads.append(thread)
        thread.start()

    def _work(self) -> None:
        todo, events, me = self._todo, self._events, threading.get_ident()
        assert events is not None
        while (item := todo.get()) is not None:
            node, job = item
            self._running[me] = node
            try:
                event = (node, True, job())
            except BaseException as e:
                event = (node, False, e)
            with self._lock:
                del self._running[me]
                retired = me in self._retired
            events.put(event)
            if retired:
                return

    def submit(self, node: Any, job: Job) -> None:
        self._todo.put((node, job))

    def cancel(self, node: Any) -> None:
        """Abandon the thread running this attempt (it cannot be killed); start another."""
        with self._lock:
            for ident, running in self._running.items():
                if running is node and ident not in self._retired:
                    self._retired.add(ident)
                    break
            else:
                return
        self._add_thread()

    def shutdown(self) -> None:
        for _ in self._threads:
            self._todo.put(None)
        self._threads.clear()


class RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker process, as text."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return f'\n"""\n{self.text}"""'


def _portable_failure(error: BaseException) -> tuple[BaseException, str]:
    """The error (or a stand-in, if it cannot be pickled) and its traceback text."""
    text = "".join(traceback.format_exception(error))
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        error = TasktronautError(f"{type(error).__name__}: {error}")
    return error, text


def _worker_main(conn: Connection, log_queue: Any, parent_end: Connection) -> None:
    """A worker process: run jobs from the pipe, send back (ok, value) or (error, text).

    Ctrl-C is for the driver (it reaches the whole process group): workers ignore it and are
    stopped by the driver. Closing the driver's end of the pipe here means a worker whose
    driver dies sees the pipe close and exits.
    """
    parent_end.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    forward = logging.getLogger(f"tasktronaut.worker.{os.getpid()}")
    forward.handlers[:] = [logging.handlers.QueueHandler(log_queue)]
    forward.setLevel(logging.DEBUG)
    forward.propagate = False
    current_log.set(RunLog(forward))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            reply: tuple[Any, ...] = (True, job())
        except BaseException as e:
            reply = (False, *_portable_failure(e))
        try:
            conn.send(reply)
        except (BrokenPipeError, EOFError, OSError):
            return  # the driver is gone: nobody to report to
        except Exception as e:
            try:
                conn.send((False, *_portable_failure(
                    TasktronautError(f"the result could not be sent back: {e}"))))
            except OSError:
                return


class _Worker:
    """One worker process and the job it is running."""

    def __init__(self, context: Any, log_queue: Any) -> None:
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=_worker_main, args=(child, log_queue, self.conn), daemon=True,
            name="tasktronaut-worker",
        )
        self.process.start()
        child.close()
        self.node: Any = None


class ProcessExecutor:
    """``processes`` worker processes, each with its own pipe.

    A worker that dies fails only the task it was running (the error names its exit code);
    a fresh worker takes its place. Log lines that actions write through ``log`` in a worker
    are forwarded to the run's logger.
    """

    remote = True

    def __init__(self, processes: int | None = None, context: Any = None) -> None:
        self.capacity = processes or os.cpu_count() or 1
        self._context = context or multiprocessing.get_context()
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()
        self._events: Events | None = None
        self._log: RunLog | None = None
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._log_queue: Any = None

    def start(self, events: Events, log: RunLog) -> None:
        self._events, self._log = events, log

    def _ensure_started(self) -> None:
        if self._workers:
            return
        self._log_queue = self._context.Queue()
        self._workers = [_Worker(self._context, self._log_queue) for _ in range(self.capacity)]
        for target in (self._monitor, self._forward_logs):
            thread = threading.Thread(target=target, daemon=True, name="tasktronaut-monitor")
            thread.start()
            self._threads.append(thread)

    def cancel(self, node: Any) -> None:
        """Kill the worker process running this attempt; a fresh worker replaces it now."""
        dead = []
        with self._lock:
            for i, worker in enumerate(self._workers):
                if worker.node is node:
                    worker.process.kill()
                    self._workers[i] = _Worker(self._context, self._log_queue)
                    dead.append(worker)
        for worker in dead:
            worker.process.join(timeout=5)
            worker.conn.close()

    def submit(self, node: Any, job: Job) -> None:
        with self._lock:
            self._ensure_started()
            idle = [w for w in self._workers if w.node is None]
            if idle:
                worker = idle[0]
            else:
                worker = _Worker(self._context, self._log_queue)
                self._workers.append(worker)
            worker.node = node
        try:
            worker.conn.send(job)
        except Exception:
            worker.node = None
            raise

    def _monitor(self) -> None:
        """Collect replies, and notice workers that died."""
        while not self._stopping.is_set():
            with self._lock:
                workers = list(self._workers)
            by_handle: dict[Any, _Worker] = {}
            for w in workers:
                by_handle[w.conn] = w
                by_handle[w.process.sentinel] = w
            for handle in wait(list(by_handle), timeout=0.05):
                worker = by_handle[handle]
                if handle is worker.conn:
                    self._reply(worker)
                elif not self._stopping.is_set():
                    self._replace(worker)

    def _reply(self, worker: _Worker) -> None:
        try:
            reply = worker.conn.recv()
        except (EOFError, OSError):
            return
        except Exception as e:
            reply = (False, WorkerError(f"the reply could not be read: {e}"), "")
        node, worker.node = worker.node, None
        assert node is not None
        assert self._events is not None
        if reply[0]:
            self._events.put((node, True, reply[1]))
        else:
            error, text = reply[1], reply[2]
            error.__cause__ = RemoteTraceback(text)
            self._events.put((node, False, error))

    def _replace(self, worker: _Worker) -> None:
        """A worker died: fail its task, start another in its place."""
        worker.process.join(timeout=1)
        code = worker.process.exitcode
        with self._lock:
            if worker not in self._workers:
                return
            self._workers[self._workers.index(worker)] = _Worker(self._context, self._log_queue)
        if worker.node is not None and self._events is not None:
            self._events.put((worker.node, False, WorkerError(
                f"the worker process running it died (exit code {code})")))
        worker.conn.close()

    def _forward_logs(self) -> None:
        """Re-emit worker log lines here until the sentinel that ``shutdown`` sends."""
        while True:
            try:
                record = self._log_queue.get(timeout=0.1)
            except Empty:
                continue
            except (OSError, EOFError, ValueError):
                return
            if record is None:
                return
            if self._log is not None:
                self._log.emit(record.levelno, record.getMessage())

    def shutdown(self) -> None:
        self._stopping.set()
        with self._lock:
            workers, self._workers = self._workers, []
        for w in workers:
            with contextlib.suppress(Exception):
                w.conn.send(None)
        for w in workers:
            w.process.join(timeout=2)
            if w.process.is_alive():
                w.process.kill()
                w.process.join(timeout=2)
        if self._log_queue is not None:
            self._log_queue.put(None)
        for thread in self._threads:
            thread.join(timeout=2)
        self._threads.clear()
        self._stopping.clear()
        if self._log_queue is not None:
            self._log_queue.close()
            self._log_queue = None


def _call(job: Job) -> Any:
    return job()


def is_executor(value: Any) -> bool:
    """Whether ``value`` is an executor object (rather than a name)."""
    return all(hasattr(value, a) for a in ("start", "submit", "shutdown", "capacity"))


class DaskExecutor:
    """Send actions to a Dask cluster (``pip install tasktronaut[dask]``).

    ``address`` is a scheduler address (``"tcp://host:8786"``), ``"local"`` to start a
    ``distributed.LocalCluster`` on this machine (extra keyword arguments go to it), or an
    existing ``distributed.Client``. Readiness checks and scheduling stay in this process.
    Use it as a context manager, or call :meth:`close`, to release what it started.
    """

    remote = True

    def __init__(self, address: Any = "local", **cluster_kwargs: Any) -> None:
        self._address = address
        self._cluster_kwargs = cluster_kwargs
        self._client: Any = None
        self._cluster: Any = None
        self._events: Events | None = None
        self._futures: dict[int, Any] = {}
        self.capacity = 1

    @property
    def client(self) -> Any:
        """The ``distributed.Client`` (connecting on first use)."""
        if self._client is None:
            try:
                from distributed import Client, LocalCluster
            except ImportError:
                raise TasktronautError(
                    "DaskExecutor needs Dask: pip install 'tasktronaut[dask]'") from None
            if isinstance(self._address, Client):
                self._client = self._address
            elif self._address == "local":
                options = {"dashboard_address": ":0", **self._cluster_kwargs}
                self._cluster = LocalCluster(**options)  # type: ignore[no-untyped-call]
                self._client = Client(self._cluster)  # type: ignore[no-untyped-call]
            else:
                self._client = Client(self._address)  # type: ignore[no-untyped-call]
        return self._client

    def start(self, events: Events, log: RunLog) -> None:
        self._events = events
        self.capacity = max(1, sum(self.client.nthreads().values()))

    def submit(self, node: Node, job: Job) -> None:
        events = self._events
        assert events is not None
        future = self.client.submit(_call, job, pure=False, key=f"tasktronaut-{uuid.uuid4().hex}")
        self._futures[id(node)] = future

        def done(f: Any) -> None:
            self._futures.pop(id(node), None)
            try:
                events.put((node, True, f.result()))
            except BaseException as e:
                events.put((node, False, e))

        future.add_done_callback(done)

    def cancel(self, node: Any) -> None:
        """Ask the cluster to stop this attempt."""
        future = self._futures.pop(id(node), None)
        if future is not None:
            future.cancel(force=True)

    def shutdown(self) -> None:
        """Detach from the run; the cluster stays up until :meth:`close`."""
        self._events = None

    def close(self) -> None:
        """Close the client, and the local cluster if this executor started one."""
        if self._client is not None and self._client is not self._address:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        self._client = self._cluster = None

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Pools:
    """The executors of one run, and which one each node's action goes to.

    A node's ``executor`` option wins over the run's default; the thread pool (or the calling
    thread, with one thread) is the default of defaults. Executors start on first use.
    """

    def __init__(self, threads: int, processes: int, default: Any, events: Events,
                 log: RunLog, inline: bool = True) -> None:
        self.threads: Executor = (
            InlineExecutor() if threads == 1 and inline else ThreadExecutor(threads)
        )
        self._processes = processes
        self._default = default
        self._events = events
        self._log = log
        self._process: ProcessExecutor | None = None
        self.started: list[Executor] = []

    def for_node(self, node: Node) -> Executor:
        choice = node.options.executor
        if node.kind is not NodeKind.TASK and node.kind is not NodeKind.STEP:
            choice = None
        elif choice is None:
            choice = self._default
        name = getattr(choice, "value", choice)
        if choice is None or name == "thread":
            executor: Executor = self.threads
        elif name == "process":
            if self._process is None:
                self._process = ProcessExecutor(self._processes or None)
            executor = self._process
        else:
            executor = choice
        if executor not in self.started:
            executor.start(self._events, self._log)
            self.started.append(executor)
        return executor

    def shutdown(self) -> None:
        for executor in self.started:
            executor.shutdown()
        self.started.clear()
