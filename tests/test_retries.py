"""Retries and backoff: attempts are counted, logged, and only retryable errors repeat."""

from __future__ import annotations

from typing import ClassVar

import pytest

from tasktronaut import (
    ArgumentError,
    Asset,
    Context,
    NonRetryableProcessError,
    ProcessDefinition,
    task,
)
from tasktronaut.model.options import TaskOptions


def _flaky(failures: int, calls: list[int], done: set[str], **options):
    @task(**options)
    def flaky():
        yield "flaky"
        yield Asset("flaky", lambda: "flaky" in done)
        yield None
        calls.append(len(calls) + 1)
        if len(calls) <= failures:
            raise OSError(f"try {len(calls)} failed")
        done.add("flaky")

    return flaky


@pytest.mark.parametrize("threads", [1, 3])
def test_a_task_succeeds_on_a_later_attempt(logs, threads):
    calls: list[int] = []
    root = _flaky(2, calls, set(), retries=2)(threads=threads)
    assert root.ready
    assert calls == [1, 2, 3]
    assert "WARNING flaky: Attempt 1 of 3 failed: try 1 failed; retrying in 0s" in logs
    assert "INFO flaky: Executing (attempt 3 of 3)" in logs


def test_attempts_run_out(logs):
    calls: list[int] = []
    root = _flaky(5, calls, set(), max_attempts=2)()
    assert not root.ready
    assert calls == [1, 2]
    assert "ERROR flaky: Task failed: try 2 failed" in logs


def test_retry_on_limits_which_errors_repeat():
    calls: list[int] = []
    root = _flaky(1, calls, set(), retries=3, retry_on=(ValueError,))()
    assert not root.ready
    assert calls == [1]


def test_backoff_waits_follow_the_formulas():
    linear = TaskOptions(retries=5, backoff="linear", backoff_base=2)
    exponential = TaskOptions(retries=5, backoff="exponential", backoff_base=1, backoff_max=5)
    assert [linear.delay(k) for k in (1, 2, 3)] == [2, 4, 6]
    assert [exponential.delay(k) for k in (1, 2, 3, 4)] == [1, 2, 4, 5]
    assert TaskOptions(retries=1).delay(1) == 0
    jittered = TaskOptions(retries=1, backoff="linear", backoff_base=10, jitter=0.5)
    assert all(5 <= jittered.delay(1) <= 10 for _ in range(50))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"retries": -1}, "retries must be an integer >= 0, got -1"),
        ({"retries": 1, "max_attempts": 2}, "either retries or max_attempts"),
        ({"backoff": "sometimes"}, "backoff must be one of none, linear, exponential"),
        ({"jitter": 2}, "jitter must be between 0 and 1"),
        ({"timeout": 0}, "timeout must be > 0"),
        ({"executor": "gpu"}, "executor must be one of thread, process"),
        ({"retry_on": "OSError"}, "retry_on must be exception classes"),
        ({"retires": 2}, "unknown task option"),
    ],
)
def test_bad_options_are_reported_where_they_are_written(options, message):
    with pytest.raises(ArgumentError, match=message):
        task(**options)


class Flaky(ProcessDefinition):
    attempts: ClassVar[list[int]] = []

    def define_process(self, builder):
        builder.task(self.fetch)

    @task(retries=2)
    def fetch(self, context: Context):
        self.attempts.append(context.attempt)
        if context.attempt < 3:
            raise ConnectionError("not yet")
        return "fetched"


class Hopeless(ProcessDefinition):
    attempts: ClassVar[list[int]] = []
    failures: ClassVar[list[tuple[str, str]]] = []

    def define_process(self, builder):
        builder.task(self.fetch, retries=5)

    def fetch(self, context: Context):
        self.attempts.append(context.attempt)
        raise NonRetryableProcessError("gone for good")

    def on_failed(self, identifier, step, error):
        self.failures.append((step, str(error)))


def test_a_step_sees_its_attempt_number_and_its_result_is_kept():
    root = Flaky.run()
    assert root.ready
    assert Flaky.attempts == [1, 2, 3]
    assert root.ref == {"Flaky.fetch": "fetched"}


def test_a_non_retryable_error_is_never_retried_and_on_failed_runs_once():
    root = Hopeless.run()
    assert not root.ready
    assert Hopeless.attempts == [1]
    assert Hopeless.failures == [("Hopeless.fetch", "gone for good")]
