"""Worker processes: each with its own pipe, so a dying worker fails only its own attempt.

Jobs are picklable objects made by the definition layer; replies travel back as
``(ok, value)`` or ``(False, error, traceback text)``. Log records a job writes in a worker
are forwarded to the run's logger.
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
import time
import traceback
from multiprocessing.connection import Connection, wait
from queue import Empty
from typing import Any

from tasktronaut.errors import TasktronautError, WorkerError
from tasktronaut.logs import RunLog, current_log, log_context
from tasktronaut.model.protocols import Events, Job


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


def _die_with(parent: int) -> None:
    """End this worker as soon as the driver process ``parent`` is gone, even mid-job.

    A worker must never finish a step after its driver died: a resumed run would be doing
    the same step at the same time. On Linux the kernel kills the worker the moment the
    driver dies (``PR_SET_PDEATHSIG``); elsewhere a watchdog thread notices within 0.2 s.
    Neither costs a job anything.
    """
    if os.getppid() != parent:
        try:
            os.kill(parent, 0)
        except ProcessLookupError:  # the driver died before this worker got going
            os._exit(1)
        except PermissionError:
            pass
        return  # started by a fork server, not by the driver: the pipe tells instead
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        armed = libc.prctl(1, signal.SIGKILL, 0, 0, 0) == 0  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        armed = False
    if os.getppid() != parent:  # the driver died before the signal was armed
        os._exit(1)
    if not armed:
        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(0.2)
            os._exit(1)

        threading.Thread(target=watch, daemon=True, name="tasktronaut-watchdog").start()


def _worker_main(conn: Connection, log_queue: Any, parent_end: Connection,
                 parent: int | None = None) -> None:
    """A worker process: run jobs from the pipe, send back (ok, value) or (error, text).

    Ctrl-C and SIGTERM are for the driver (they reach the whole process group): workers ignore
    both and are stopped by the driver after its grace. Closing the driver's end of the pipe
    here means a worker whose driver dies sees the pipe close and exits; a worker busy with a
    job when its driver dies is killed with it (see :func:`_die_with`).
    """
    if parent is not None:
        _die_with(parent)
    parent_end.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    label = _forward_records(log_queue)
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        label.task = getattr(job, "task", None) or getattr(job, "name", None)
        label.attempt = getattr(job, "attempt", None)
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


_NO_CONTEXT = contextlib.nullcontext()


def _forward_records(log_queue: Any) -> _JobLabel:
    """In a worker process: what jobs log goes to the driver, labelled with the job."""
    forward = logging.getLogger(f"tasktronaut.worker.{os.getpid()}")
    forward.handlers[:] = [logging.handlers.QueueHandler(log_queue)]
    forward.setLevel(logging.DEBUG)
    forward.propagate = False
    label = _JobLabel()
    forward.addFilter(label)
    current_log.set(RunLog(forward))
    return label


class _JobLabel(logging.Filter):
    """In a worker process: label each record with the task and attempt of the job that
    logs it, so that the driver can show them as it shows its own records' context."""

    def __init__(self) -> None:
        super().__init__()
        self.task: str | None = None
        self.attempt: int | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        record.tasktronaut_task = self.task
        record.tasktronaut_attempt = self.attempt
        return True


class _Worker:
    """One worker process and the job it is running."""

    def __init__(self, context: Any, log_queue: Any) -> None:
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=_worker_main, args=(child, log_queue, self.conn, os.getpid()), daemon=True,
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
            # in a copy of the run's context: forwarded records carry its run id too
            thread = threading.Thread(target=contextvars.copy_context().run, args=(target,),
                                      daemon=True, name="tasktronaut-monitor")
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
                task = getattr(record, "tasktronaut_task", None)
                with log_context(task=task, attempt=getattr(record, "tasktronaut_attempt",
                                                            None)) if task else _NO_CONTEXT:
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
