"""The pytest plugin: the ``tasktronaut`` fixture, and tasktronaut's records in ``caplog``.

Registered through the ``pytest11`` entry point, so installing tasktronaut is enough. Without
loguru configured, tasktronaut logs to the stdlib logger ``tasktronaut`` and ``caplog`` sees
its records as it sees any library's. When the application (or a test) enabled loguru for
tasktronaut, this plugin forwards tasktronaut's loguru records to that stdlib logger for the
duration of each test, so ``caplog`` sees them then too.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from loguru import logger

from tasktronaut.logs import STDLIB_NAME, stdlib_logger
from tasktronaut.testing import ProcessTester

__all__ = ["tasktronaut"]


@pytest.fixture
def tasktronaut() -> ProcessTester:
    """Helpers to test process definitions: ``plan``, ``order``, ``run_with``."""
    return ProcessTester()


def _forward(message: Any) -> None:
    """A loguru sink: hand a tasktronaut record to the stdlib logger ``tasktronaut``."""
    record = message.record
    level = logging.getLevelName(record["level"].name)
    stdlib_logger.log(level if isinstance(level, int) else logging.INFO, "%s", record["message"])


def _ours(record: Any) -> bool:
    """tasktronaut's own records, and those of the ``log`` proxy (which marks them)."""
    name = record["name"] or ""
    return (name == STDLIB_NAME or name.startswith(STDLIB_NAME + ".")
            or bool(record["extra"].get("tasktronaut")))


@pytest.fixture(autouse=True)
def _tasktronaut_records_to_caplog() -> Iterator[None]:
    """Forward tasktronaut's loguru records to stdlib logging while a test runs."""
    sink = logger.add(_forward, level=0, filter=_ours, format="{message}", catch=True)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):  # the test removed every sink itself
            logger.remove(sink)
