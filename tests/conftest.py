"""Shared fixtures: capture what tasktronaut logs, through loguru or a stdlib logger; a
finished cup of tea for the teatime example."""

import logging
import os
import time

import pytest
from loguru import logger


@pytest.fixture
def logs():
    """The lines logged through loguru during the test, as "LEVEL message" strings."""
    lines: list[str] = []
    logger.enable("tasktronaut")
    sink = logger.add(
        lambda message: lines.append(message.rstrip("\n")),
        format="{level} {message}",
        level="DEBUG",
    )
    yield lines
    logger.remove(sink)
    logger.disable("tasktronaut")


@pytest.fixture
def loguru_reset():
    """Undo whatever logcfg() installed, so later tests start from a silent library."""
    yield
    logger.remove()
    logger.disable("tasktronaut")


class _ListHandler(logging.Handler):
    def __init__(self, lines: list[str]) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname} {record.getMessage()}")


@pytest.fixture
def stdlib_logger():
    """Factory: a stdlib logger of the given name, and the "LEVEL message" lines it receives."""
    made: list[tuple[logging.Logger, logging.Handler]] = []

    def make(name: str) -> tuple[logging.Logger, list[str]]:
        lines: list[str] = []
        log = logging.getLogger(name)
        handler = _ListHandler(lines)
        log.addHandler(handler)
        log.setLevel(logging.DEBUG)
        log.propagate = False
        made.append((log, handler))
        return log, lines

    yield make
    for log, handler in made:
        log.removeHandler(handler)
        log.propagate = True


@pytest.fixture
def finished_tea(tmp_path):
    """The teatime example's folder with every file in place, long ago: the cup is ready."""
    base = tmp_path / "teatime"
    (base / "cup").mkdir(parents=True)
    long_ago = time.time() - 3600
    for name in ("box-of-tea-bags", "spoon", "cup/tea-bag", "cup/water", "cup/sugar"):
        (base / name).touch()
        os.utime(base / name, (long_ago, long_ago))
    return base
