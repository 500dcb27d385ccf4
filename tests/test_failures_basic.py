"""Failing actions and mistakes in the yield protocol."""

import re

import pytest

from tasktronaut import Asset, TasktronautError, collection, task


@task
def failing():
    yield "failing"
    yield Asset(None, lambda: False)
    yield None
    raise RuntimeError("boom")


def test_failed_action_is_reported_and_independent_branch_still_runs(tmp_path, logs):
    @task
    def make(path, needs_failing):
        yield f"make {path.name}"
        yield Asset(path, path.is_file)
        yield failing() if needs_failing else None
        path.touch()

    @collection
    def everything():
        yield "everything"
        yield [make(tmp_path / "dependent", True), make(tmp_path / "independent", False)]

    node = everything()
    assert node.ready is False
    assert (tmp_path / "independent").is_file()
    assert not (tmp_path / "dependent").exists()
    assert "ERROR failing: Task failed: boom" in logs
    assert "WARNING make dependent: ✖ failing" in logs


def test_failed_action_logs_its_traceback_at_debug(logs):
    assert failing().ready is False
    debug = [line for line in logs if line.startswith("DEBUG ")]
    assert any("Traceback" in line for line in debug)
    assert any("RuntimeError: boom" in line for line in debug)
    assert not any(line.startswith("DEBUG failing: Task completed") for line in debug)


@task
def leaf():
    yield "leaf"
    yield Asset(None, lambda: True)
    yield None


# `yield from`: the decorator cannot count these yields; the mistakes show when built.
@task
def no_assets():
    yield from ("no assets",)


@task
def no_requirements():
    yield from ("no requirements", Asset(None, lambda: False))


@task
def string_requirement():
    yield "string requirement"
    yield Asset(None, lambda: False)
    yield "leaf"


@task
def string_in_requirement_list():
    yield "string in requirement list"
    yield Asset(None, lambda: False)
    yield [leaf(), "leaf"]


@task
def uncalled_requirement():
    yield "uncalled requirement"
    yield Asset(None, lambda: False)
    yield leaf


@task
def asset_requirement():
    yield "asset requirement"
    yield Asset(None, lambda: False)
    yield Asset(None, lambda: True)


@task
def node_as_asset():
    yield "node as asset"
    yield leaf()
    yield None


@task
def numeric_name():
    yield 42
    yield Asset(None, lambda: False)
    yield None


@collection
def requires_broken():
    yield "requires broken"
    yield no_assets()


@pytest.mark.parametrize(
    ("broken", "named"),
    [
        (no_assets, "no assets"),
        (no_requirements, "no requirements"),
        (string_requirement, "string requirement"),
        (string_in_requirement_list, "string in requirement list"),
        (uncalled_requirement, "uncalled requirement"),
        (asset_requirement, "asset requirement"),
        (node_as_asset, "node as asset"),
        (numeric_name, "numeric_name"),
        (requires_broken, "no assets"),
    ],
    ids=lambda value: getattr(value, "__name__", None) or str(value),
)
def test_protocol_mistakes_raise_an_error_naming_the_task(broken, named):
    with pytest.raises(TasktronautError, match=re.escape(named)):
        broken()
