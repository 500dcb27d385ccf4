"""A retry of an asset task whose asset lives in memory can succeed: the fresh call's asset
is the one checked."""

from __future__ import annotations

from tasktronaut import Asset, task

ATTEMPTS: list[int] = []


@task(retries=2)
def boxed():
    box: list[int] = []
    yield "Boxed"
    yield Asset(box, lambda: bool(box))
    yield None
    ATTEMPTS.append(len(ATTEMPTS) + 1)
    if len(ATTEMPTS) < 2:
        raise RuntimeError("the first attempt fails")
    box.append(1)


def test_a_retry_fills_the_asset_of_its_own_call():
    ATTEMPTS.clear()
    root = boxed.build().run()
    assert ATTEMPTS == [1, 2]
    assert root.ready
    assert root.ref == [1]
