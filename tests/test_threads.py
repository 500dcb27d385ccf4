"""Thread workers, and separate runs in separate threads."""

import threading

import pytest

from tasktronaut import Asset, TasktronautError, collection, log, task


def test_four_threads_run_four_independent_actions_at_the_same_time():
    barrier = threading.Barrier(4, timeout=30)
    done: set[int] = set()

    @task
    def meet(i):
        yield f"meet {i}"
        yield Asset(i, lambda: i in done)
        yield None
        barrier.wait()  # breaks, failing every action, unless all four are running at once
        done.add(i)

    @collection
    def everyone():
        yield "everyone"
        yield [meet(i) for i in range(4)]

    assert everyone(threads=4).ready
    assert done == {0, 1, 2, 3}


@pytest.mark.parametrize("threads", [0, -1])
def test_threads_must_be_at_least_one(threads):
    ran = []

    @task
    def one():
        yield "one"
        yield Asset(None, lambda: bool(ran))
        yield None
        ran.append(True)

    with pytest.raises((TasktronautError, ValueError), match="thread"):
        one(threads=threads)
    assert ran == []


def test_runs_in_two_threads_keep_their_own_logger_and_tasks(stdlib_logger):
    barrier = threading.Barrier(2, timeout=30)
    seen: dict[str, str] = {}
    errors: list[BaseException] = []
    ready: dict[str, bool] = {}

    @task
    def shared(tag):
        box = []
        yield "shared"
        yield Asset(box, lambda: bool(box))
        yield None
        barrier.wait()  # both runs are inside their own "shared" action now
        log.info("shared: made for %s", tag)
        box.append(tag)

    @task
    def top(tag):
        out = []
        yield f"top {tag}"
        yield Asset(out, lambda: bool(out))
        requirement = shared(tag)
        yield requirement
        seen[tag] = requirement.ref[0]
        out.append(tag)

    loggers = {tag: stdlib_logger(f"tasktronaut-test-run-{tag}") for tag in "AB"}

    def run(tag):
        try:
            ready[tag] = top(tag, log=loggers[tag][0]).ready
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=run, args=(tag,)) for tag in "AB"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert ready == {"A": True, "B": True}
    assert seen == {"A": "A", "B": "B"}
    for tag, other in ("A", "B"), ("B", "A"):
        lines = loggers[tag][1]
        assert f"INFO shared: made for {tag}" in lines
        assert f"INFO top {tag}: Ready" in lines
        assert not any(f"top {other}" in line or f"for {other}" in line for line in lines)
