"""Code written for iotaa runs unchanged: node properties, helpers, and the mistakes iotaa
warns about."""

from __future__ import annotations

import abc

import pytest

from tasktronaut import Asset, collection, external, log, req, task, tasknames
from tasktronaut.errors import ProtocolError


def box(ready: bool, name: str):
    @external
    def thing():
        yield name
        yield Asset(name, lambda: ready)

    return thing()


@task
def tea_with(shape: str):
    yield f"tea ({shape})"
    yield Asset(None, lambda: False)
    bought, missing = box(True, "bought"), box(False, "missing")
    if shape == "list":
        yield [bought, missing]
    elif shape == "dict":
        yield {"bought": bought, "missing": missing}
    else:
        yield bought


def test_req_leaves_out_requirements_that_were_ready_already():
    listed = tea_with.build("list")
    assert [r.taskname for r in listed.req] == ["missing"]
    assert [r.taskname for r in req(listed)] == ["missing"]
    mapped = tea_with.build("dict")
    assert {k: r.taskname for k, r in mapped.req.items()} == {"missing": "missing"}
    assert tea_with.build("single").req is None


def test_root_says_which_node_the_graph_was_built_from():
    root = tea_with.build("list")
    assert root.root is True
    (missing,) = root.req
    assert missing.root is False


def test_str_of_a_node_is_its_name_and_id_as_in_iotaa():
    node = tea_with.build("single")
    assert str(node) == f"tea (single) <{id(node)}>"


def test_log_logger_is_a_method_returning_the_runs_logger(stdlib_logger):
    seen = []
    logger, _ = stdlib_logger("tasktronaut-test-logger")

    @task
    def noted():
        yield "noted"
        yield Asset(None, lambda: bool(seen))
        yield None
        seen.append(log.logger())

    noted(log=logger)
    assert seen == [logger]


class Tasks(abc.ABC):
    @task
    @abc.abstractmethod
    def todo(self):
        yield "todo"
        yield None
        yield None

    @task
    def done(self):
        yield "done"
        yield None
        yield None


def test_tasknames_leaves_out_abstract_task_methods():
    assert tasknames(Tasks) == ["done"]


def test_calling_a_task_function_inside_an_action_warns(logs):
    @task
    def inner():
        yield "inner"
        yield Asset(None, lambda: False)
        yield None

    @task
    def outer():
        yield "outer"
        yield Asset(None, lambda: False)
        yield None
        inner()

    outer()
    assert ("WARNING outer: called the task function "
            "test_calling_a_task_function_inside_an_action_warns.<locals>.inner inside its "
            "action, where it does not run; yield it as a requirement instead") in logs


def test_a_task_with_too_few_yields_is_refused_when_decorated():
    ran = []
    with pytest.raises(ProtocolError, match=r"has 2 yield\(s\) but a @task yields its name, "
                                            r"its asset\(s\) and its requirement\(s\)"):
        @task
        def forgot_requirements():
            yield "forgot"
            yield Asset(None, lambda: False)
            ran.append("action")  # would run while requirements are read (dry run, graph)

    with pytest.raises(ProtocolError, match=r"@collection yields its name and its"):
        @collection
        def only_a_name():
            yield "only"

    with pytest.raises(ProtocolError, match=r"@external yields its name and its asset"):
        @external
        def no_asset():
            yield "no asset"
    assert ran == []


def test_yields_the_decorator_cannot_count_are_accepted():
    @task
    def looped():
        for value in ("looped", Asset(None, lambda: True), None):  # noqa: UP028
            yield value

    @task
    def delegated():
        yield from ("delegated", Asset(None, lambda: True), None)

    assert looped().ready
    assert delegated().ready
