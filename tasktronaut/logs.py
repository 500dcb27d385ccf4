"""Logging: the per-run logger, the ``log`` proxy, and the default iotaa-style sink.

tasktronaut logs through loguru once the application opts in: :func:`logcfg` (which the
command line calls) enables it and installs a stderr sink with iotaa's line format,
``[2025-11-17T01:28:40] INFO    The cup: Executing``; ``logger.enable("tasktronaut")`` opts in
with the application's own sinks. Until then records go to the standard library's logger
``tasktronaut`` (which has a ``NullHandler``, so nothing is printed unless the application
configures :mod:`logging`), where pytest's ``caplog``, Django or Sentry see them.
:func:`stderr_lines` shows them on stderr in the same format: what ``tasktronaut run`` does
while nothing has imported loguru, which costs tens of milliseconds at start-up.

A run may also log to a stdlib :class:`logging.Logger` (``log=``). Which levels a run's logger
accepts is worked out once per run, so a run with no sink pays almost nothing for logging.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

DEBUG, INFO, WARNING, ERROR = 10, 20, 30, 40
_LEVEL_NAMES = {DEBUG: "DEBUG", INFO: "INFO", WARNING: "WARNING", ERROR: "ERROR"}
FORMAT = "[{time:YYYY-MM-DDTHH:mm:ss}] {level: <7} {message}"

_handler_id: int | None = None
STDLIB_NAME = "tasktronaut"
stdlib_logger = logging.getLogger(STDLIB_NAME)
stdlib_logger.addHandler(logging.NullHandler())


def loguru() -> Any:
    """loguru's logger, imported on first use (it costs tens of milliseconds at start-up).

    The first use disables tasktronaut's records in loguru, as importing the library did
    before, unless the application has already said something about them (an
    ``enable("tasktronaut")`` of its own stays in force).
    """
    global _logger
    if _logger is None:
        from loguru import logger

        activation = getattr(getattr(logger, "_core", None), "activation_list", ())
        if not any(prefix == "tasktronaut." for prefix, _ in activation):
            logger.disable("tasktronaut")
        _logger = logger
    return _logger


_logger: Any = None


def loguru_enabled() -> bool:
    """Whether the application opted in to loguru for tasktronaut (``logcfg()`` or
    ``logger.enable("tasktronaut")``); never, while nothing has imported loguru."""
    if _logger is None and "loguru" not in sys.modules:
        return False
    core = getattr(loguru(), "_core", None)
    if core is None:
        return True
    dotted = __name__ + "."
    for prefix, status in core.activation_list:
        if dotted[: len(prefix)] == prefix:
            return bool(status)
    return True


def default_target() -> Any:
    """Where records go without ``log=``: loguru once enabled, else the stdlib logger."""
    return loguru() if loguru_enabled() else stdlib_logger


def logcfg(verbose: bool = False) -> None:
    """Send log lines to stderr in iotaa's format: INFO and up, or DEBUG and up if verbose.

    Replaces loguru's default handler (and any sink an earlier call installed) and enables
    tasktronaut's own messages.
    """
    global _handler_id
    for handler in (0, _handler_id):
        if handler is not None:
            with contextlib.suppress(ValueError):
                loguru().remove(handler)
    loguru().enable("tasktronaut")
    _handler_id = loguru().add(
        _write_stderr,
        level="DEBUG" if verbose else "INFO",
        format=FORMAT,
        colorize=False,
    )


def _write_stderr(message: Any) -> None:
    """Write to whatever ``sys.stderr`` is now (tests and the CLI runner replace it)."""
    sys.stderr.write(message)


TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
"""``{time:YYYY-MM-DDTHH:mm:ss}`` of :data:`FORMAT`, for :func:`time.strftime`."""


class StderrLines(logging.Handler):
    """:data:`FORMAT`'s lines for stdlib records, on whatever ``sys.stderr`` is now: what the
    sink :func:`logcfg` installs writes for loguru's records, without importing loguru.
    A record with ``exc_info`` is followed by its traceback, as :mod:`logging` prints it."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stamp = time.strftime(TIME_FORMAT, time.localtime(record.created))
            line = f"[{stamp}] {record.levelname: <7} {record.getMessage()}\n"
            if record.exc_info:
                line += logging.Formatter().formatException(record.exc_info) + "\n"
            sys.stderr.write(line)
        except Exception:
            self.handleError(record)


def stderr_lines(level: str = "INFO") -> Callable[[], None]:
    """Show the records of the stdlib logger ``tasktronaut`` (``level`` and up) on stderr in
    iotaa's format, and only there; return the function that undoes it.

    The command line's text log while nothing has imported loguru: the records reach this
    logger then (:func:`default_target`), and the lines are those of :func:`add_sinks`. They
    do not propagate to the root logger meanwhile, as loguru's records do not.
    """
    handler = StderrLines()
    saved = stdlib_logger.level, stdlib_logger.propagate
    stdlib_logger.addHandler(handler)
    stdlib_logger.setLevel(level)
    stdlib_logger.propagate = False

    def undo() -> None:
        stdlib_logger.removeHandler(handler)
        stdlib_logger.setLevel(saved[0])
        stdlib_logger.propagate = saved[1]

    return undo


def _loguru_accepts(target: Any, level: int) -> bool:
    """Whether a loguru logger would emit a message of ``level`` from this module."""
    core = getattr(target, "_core", None)
    if core is None:
        return True
    if not core.handlers or level < core.min_level:
        return False
    dotted = __name__ + "."
    for prefix, status in core.activation_list:
        if dotted[: len(prefix)] == prefix:
            return bool(status)
    return True


class RunLog:
    """The logger of one run, with the enabled levels worked out once.

    The engine checks ``debug_on``/``info_on`` before building a message, so a disabled level
    costs an attribute read.
    """

    __slots__ = ("debug_on", "error_on", "info_on", "std", "target", "warning_on")

    def __init__(self, target: Any = None) -> None:
        explicit = target is not None
        if target is None:
            target = default_target()
        self.target = target
        self.std = isinstance(target, (logging.Logger, logging.LoggerAdapter))
        if self.std:
            self.debug_on = target.isEnabledFor(DEBUG)
            self.info_on = target.isEnabledFor(INFO)
            self.warning_on = target.isEnabledFor(WARNING)
            self.error_on = target.isEnabledFor(ERROR)
        elif hasattr(target, "opt") and hasattr(target, "log"):
            if explicit:
                target.enable("tasktronaut")
            self.debug_on = _loguru_accepts(target, DEBUG)
            self.info_on = _loguru_accepts(target, INFO)
            self.warning_on = _loguru_accepts(target, WARNING)
            self.error_on = _loguru_accepts(target, ERROR)
        else:
            raise TypeError(
                f"log must be a logging.Logger or a loguru logger, got {type(target).__name__}"
            )

    def emit(self, level: int, message: str) -> None:
        """Log an already formatted line."""
        if self.std:
            self.target.log(level, "%s", message)
        else:
            self.target.log(_LEVEL_NAMES[level], message)

    def debug(self, message: str) -> None:
        if self.debug_on:
            self.emit(DEBUG, message)

    def info(self, message: str) -> None:
        if self.info_on:
            self.emit(INFO, message)

    def warning(self, message: str) -> None:
        if self.warning_on:
            self.emit(WARNING, message)

    def error(self, message: str) -> None:
        if self.error_on:
            self.emit(ERROR, message)


current_log: ContextVar[RunLog | None] = ContextVar("tasktronaut_log", default=None)


class LogProxy:
    """``log``: the logger of the run in progress, taking iotaa's %-style calls.

    ``log.info("%s: Getting cup", name)`` works with loguru and stdlib loggers alike. Outside
    a run it logs to loguru's logger.
    """

    def _call(self, level: str, msg: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        run = current_log.get()
        target = run.target if run is not None else default_target()
        if isinstance(target, (logging.Logger, logging.LoggerAdapter)):
            kwargs.setdefault("stacklevel", 3)
            getattr(target, level)(msg, *args, **kwargs)
            return
        text = str(msg) % args if args else str(msg)
        opt = target.opt(depth=2, exception=kwargs.get("exc_info") or None).bind(
            tasktronaut=True)
        getattr(opt, "error" if level == "exception" else level)(text)

    def debug(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self._call("debug", msg, args, kwargs)

    def info(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self._call("info", msg, args, kwargs)

    def warning(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self._call("warning", msg, args, kwargs)

    def error(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self._call("error", msg, args, kwargs)

    def critical(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self._call("critical", msg, args, kwargs)

    def exception(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("exc_info", True)
        self._call("exception", msg, args, kwargs)

    def logger(self) -> Any:
        """The underlying logger object of the run in progress (a method, as in iotaa)."""
        run = current_log.get()
        return run.target if run is not None else default_target()


log = LogProxy()


# ---------------------------------------------------------------------------------------------
# Context on records and the command line's sinks (run id, process identifier, task, attempt).
# Kept apart from the rest of this module: it only adds fields to loguru records.

_log_fields: ContextVar[dict[str, Any] | None] = ContextVar("tasktronaut_log_fields",
                                                            default=None)
context_wanted = False
"""Whether a sink shows the context fields (set by :func:`add_sinks`); until then the engine
does not spend time setting them."""
CONTEXT_FIELDS = ("run_id", "identifier", "task", "attempt")
"""The fields every record carries in ``extra`` once :func:`add_context` patches the logger."""


@contextlib.contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Records logged inside carry ``fields`` (over any outer ones) in loguru's ``extra``.

    Worker threads start in a copy of the run's context, so fields set around a run reach
    them; the task and attempt are set where each attempt runs.
    """
    token = _log_fields.set({**(_log_fields.get() or {}), **fields})
    try:
        yield
    finally:
        _log_fields.reset(token)


def add_context(record: Any) -> None:
    """A loguru patcher: put the context fields into the record's ``extra``."""
    extra = record["extra"]
    for name in CONTEXT_FIELDS:
        extra.setdefault(name, None)
    extra.update(_log_fields.get() or {})


TEXT_FORMAT = FORMAT


def add_sinks(level: str = "INFO", fmt: str = "text", file: Any = None,
              stderr: bool = True) -> list[int]:
    """Install the command line's sinks and return their ids (for ``logger.remove``).

    ``fmt`` is ``text`` (iotaa's line format) or ``json`` (one JSON object a line, loguru's
    serialisation, the context fields under ``record.extra``); ``file`` adds a sink
    writing to that path as well. ``stderr=False`` keeps stderr quiet.
    """
    global _handler_id, context_wanted
    for handler in (0, _handler_id):
        if handler is not None:
            with contextlib.suppress(ValueError):
                loguru().remove(handler)
    _handler_id = None
    loguru().enable("tasktronaut")
    loguru().configure(patcher=add_context)
    context_wanted = True
    serialize = fmt == "json"
    shape = "{message}" if serialize else TEXT_FORMAT
    ids = []
    if stderr:
        ids.append(loguru().add(_write_stderr, level=level, format=shape, colorize=False,
                               serialize=serialize))
    if file is not None:
        ids.append(loguru().add(file, level=level, format=shape, colorize=False,
                               serialize=serialize, encoding="utf-8"))
    return ids
