"""The bad-input audit: every misuse of a public entry point fails early and names the culprit.

Each test is one misuse. It asserts the exception type, a message fragment naming what was
wrong (the task, step, argument or option, and the value given), and, where it matters, that
the error came before anything ran: a mistake in a description or a setting is reported when
it is written or when the run is asked for, not halfway through a run.
"""

from __future__ import annotations

import re
import sys
import threading
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner
from support import nodes_of

from tasktronaut import (
    ArgumentError,
    Asset,
    CycleError,
    NodeStatus,
    ProcessDefinition,
    TasktronautError,
    collection,
    external,
    task,
)
from tasktronaut.cli import cli
from tasktronaut.errors import ProtocolError


def recording_task(calls: list[str]):
    """A task that notes when it is built, observed and run."""

    @task
    def recorded():
        calls.append("built")
        yield "recorded"
        yield Asset(None, lambda: calls.append("observed") or "ran" in calls)
        yield None
        calls.append("ran")

    return recorded


class Recorded(ProcessDefinition):
    """A process that notes when it is defined and when its step runs."""

    calls: ClassVar[list[str]] = []

    def define_process(self, builder):
        Recorded.calls.append("defined")
        builder.task(self.step)

    def step(self):
        Recorded.calls.append("ran")


@pytest.fixture(autouse=True)
def _fresh_records():
    Recorded.calls.clear()
    LockedStep.failures.clear()


# -- run settings ----------------------------------------------------------------------------


@pytest.mark.parametrize("threads", [0, -1, 1.5, "2", True, None])
def test_node_run_refuses_threads_that_are_not_a_positive_integer(threads):
    calls: list[str] = []
    node = recording_task(calls).build()
    with pytest.raises(ArgumentError, match=re.escape(f"threads must be an integer >= 1, "
                                                      f"got {threads!r}")) as caught:
        node.run(threads=threads)
    assert (caught.value.name, caught.value.value) == ("threads", threads)
    assert "ran" not in calls


@pytest.mark.parametrize("processes", [-1, 2.0, "2", None])
def test_node_run_refuses_processes_that_are_not_a_non_negative_integer(processes):
    node = recording_task([]).build()
    with pytest.raises(ArgumentError, match=re.escape(f"processes must be an integer >= 0, "
                                                      f"got {processes!r}")) as caught:
        node.run(processes=processes)
    assert caught.value.name == "processes"


@pytest.mark.parametrize("executor", ["gpu", "threads", 42])
def test_node_run_refuses_an_unknown_executor(executor):
    node = recording_task([]).build()
    with pytest.raises(ArgumentError, match=re.escape(f"got {executor!r}")) as caught:
        node.run(executor=executor)
    expected = "executor must be 'thread', 'process', 'async' or an executor object"
    assert expected in str(caught.value)
    assert caught.value.name == "executor"


@pytest.mark.parametrize(
    ("setting", "fragment"),
    [
        ({"threads": 0}, "threads must be an integer >= 1, got 0"),
        ({"threads": -3}, "threads must be an integer >= 1, got -3"),
        ({"processes": -1}, "processes must be an integer >= 0, got -1"),
        ({"executor": "gpu"}, "executor must be 'thread', 'process', 'async' or an executor"),
    ],
)
def test_a_root_call_refuses_bad_settings_before_building_the_graph(setting, fragment):
    calls: list[str] = []
    with pytest.raises(ArgumentError, match=re.escape(fragment)):
        recording_task(calls)(**setting)
    assert calls == [], "the task function ran (and its readiness was read) before the check"


@pytest.mark.parametrize(
    ("setting", "fragment"),
    [
        ({"threads": 0}, "threads must be an integer >= 1, got 0"),
        ({"processes": -1}, "processes must be an integer >= 0, got -1"),
        ({"executor": "gpu"}, "executor must be 'thread', 'process', 'async' or an executor"),
    ],
)
def test_definition_run_refuses_bad_settings_before_define_process(setting, fragment):
    with pytest.raises(ArgumentError, match=re.escape(fragment)):
        Recorded.run(**setting)
    assert Recorded.calls == [], "define_process ran before the settings were checked"


@pytest.mark.parametrize("grace", [-1, "10", None])
def test_node_run_refuses_a_grace_that_is_not_a_non_negative_number(grace):
    calls: list[str] = []
    node = recording_task(calls).build()
    with pytest.raises(ArgumentError, match="grace") as caught:
        node.run(grace=grace)
    assert caught.value.name == "grace"
    assert "ran" not in calls


def test_node_run_refuses_a_listener_that_is_not_callable():
    calls: list[str] = []
    node = recording_task(calls).build()
    with pytest.raises(ArgumentError, match="listener") as caught:
        node.run(listener=3)
    assert "3" in str(caught.value)
    assert "ran" not in calls


def test_node_run_refuses_an_unknown_setting_naming_it():
    calls: list[str] = []
    node = recording_task(calls).build()
    with pytest.raises(TypeError, match="'thread'"):
        node.run(thread=2)
    assert "ran" not in calls


def test_a_state_store_without_a_process_identifier_is_refused_before_any_step(tmp_path):
    with pytest.raises(ArgumentError, match="give the process one") as caught:
        Recorded.build().run(state=tmp_path / "state.db")
    assert str(caught.value).startswith("Recorded: ")
    assert caught.value.name == "identifier"
    assert "ran" not in Recorded.calls


@pytest.mark.parametrize("state", [42, b"state.db", ["state.db"]])
def test_an_unknown_kind_of_state_is_refused_before_any_step(state):
    with pytest.raises(ArgumentError, match="state must be None, a file path or a state store") \
            as caught:
        Recorded.build("r-1").run(state=state)
    assert repr(state) in str(caught.value)
    assert caught.value.name == "state"
    assert "ran" not in Recorded.calls


# -- task options ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "name", "fragment"),
    [
        ({"retries": -1}, "retries", "retries must be an integer >= 0, got -1"),
        ({"retries": 1.5}, "retries", "retries must be an integer >= 0, got 1.5"),
        ({"retries": "2"}, "retries", "retries must be an integer >= 0, got '2'"),
        ({"retries": True}, "retries", "retries must be an integer >= 0, got True"),
        ({"max_attempts": 0}, "max_attempts", "max_attempts must be an integer >= 1, got 0"),
        ({"max_attempts": 2.5}, "max_attempts", "max_attempts must be an integer >= 1, got 2.5"),
        ({"retries": 1, "max_attempts": 2}, "max_attempts",
         "give either retries or max_attempts, not both"),
        ({"backoff": "sometimes"}, "backoff",
         "backoff must be one of none, linear, exponential, got 'sometimes'"),
        ({"backoff": None}, "backoff", "backoff must be one of none, linear, exponential"),
        ({"backoff_base": -1}, "backoff_base", "backoff_base must be >= 0, got -1"),
        ({"backoff_base": "1"}, "backoff_base", "backoff_base"),
        ({"backoff_base": None}, "backoff_base", "backoff_base"),
        ({"backoff_max": -1}, "backoff_max", "backoff_max must be >= 0, got -1"),
        ({"backoff_max": "5"}, "backoff_max", "backoff_max"),
        ({"jitter": -0.1}, "jitter", "jitter must be between 0 and 1, got -0.1"),
        ({"jitter": 1.5}, "jitter", "jitter must be between 0 and 1, got 1.5"),
        ({"jitter": "0.5"}, "jitter", "jitter"),
        ({"jitter": None}, "jitter", "jitter"),
        ({"timeout": 0}, "timeout", "timeout must be > 0 seconds, got 0"),
        ({"timeout": -1}, "timeout", "timeout must be > 0 seconds, got -1"),
        ({"timeout": "30"}, "timeout", "timeout"),
        ({"retry_on": (OSError, 3)}, "retry_on", "retry_on must be exception classes"),
        ({"retry_on": "OSError"}, "retry_on", "got 'OSError'"),
        ({"retry_on": None}, "retry_on", "retry_on"),
        ({"retry_on": OSError("disk")}, "retry_on", "retry_on"),
        ({"executor": "gpu"}, "executor", "executor must be one of thread, process"),
        ({"executor": 42}, "executor", "got 42"),
        ({"description": 5}, "description", "description"),
        ({"asset": "out.txt"}, "asset", "asset must be a function, got 'out.txt'"),
        ({"cache_key": "k"}, "cache_key", "cache_key must be a function, got 'k'"),
        ({"cache_ttl": 0}, "cache_ttl", "cache_ttl must be > 0 seconds, got 0"),
        ({"cache_ttl": "60"}, "cache_ttl", "cache_ttl"),
        ({"retires": 2}, "retires", "unknown task option(s): retires"),
        ({"retires": 2, "timout": 1}, "retires", "unknown task option(s): retires, timout"),
    ],
    ids=lambda value: repr(value) if isinstance(value, dict) else None,
)
def test_task_options_are_checked_where_they_are_written(options, name, fragment):
    with pytest.raises(ArgumentError, match=re.escape(fragment)) as caught:
        task(**options)
    assert caught.value.name == name


def test_step_options_are_checked_while_the_process_is_built():
    class Wrong(ProcessDefinition):
        started: ClassVar[list[str]] = []

        def define_process(self, builder):
            builder.task(self.step, timeout=-5)

        def step(self):
            pass

        def on_started(self, identifier):
            Wrong.started.append("started")

    with pytest.raises(ArgumentError, match=re.escape("timeout must be > 0 seconds, got -5")):
        Wrong.build()
    assert Wrong.started == []


@pytest.mark.parametrize("option", [{"asset": lambda: None}, {"cache_key": lambda: "k"},
                                    {"cache_ttl": 60}], ids=lambda o: next(iter(o)))
def test_step_only_options_are_refused_on_an_asset_task_naming_it(option):
    def download():
        yield "download"
        yield None
        yield None

    with pytest.raises(ArgumentError, match=re.escape(
            f"@task({next(iter(option))}=...) applies to process steps; the asset task "
            "test_step_only_options_are_refused_on_an_asset_task_naming_it.<locals>.download"
    )):
        task(**option)(download)


def test_a_step_asset_function_returning_what_is_not_an_asset_names_the_step():
    class Declared(ProcessDefinition):
        def define_process(self, builder):
            builder.task(self.write, asset=lambda: "out.txt")

        def write(self):
            pass

    with pytest.raises(ProtocolError, match=re.escape(
            "Task 'Declared.write': expected an Asset, a list or dict of Assets, or None as "
            "asset(s), got str: 'out.txt'")):
        Declared.build()


# -- asset tasks and the graph ---------------------------------------------------------------


def test_asset_refuses_a_ready_that_is_not_callable():
    with pytest.raises(TasktronautError, match=re.escape(
            "Asset ready must be a callable returning bool, got True")):
        Asset("out.txt", True)  # type: ignore[arg-type]


@pytest.mark.parametrize("shape", ["single", "list"])
def test_a_readiness_check_that_raises_while_building_names_the_task(shape):
    def broken() -> bool:
        raise ZeroDivisionError("division by zero")

    @task
    def fragile():
        yield "fragile"
        asset = Asset("x", broken)
        yield asset if shape == "single" else [asset]
        yield None

    with pytest.raises(TasktronautError, match=re.escape(
            "Task 'fragile': asset readiness check raised ZeroDivisionError")):
        fragile.build()


@pytest.mark.parametrize("threads", [1, 2])
def test_a_readiness_check_that_raises_after_the_action_fails_the_task_saying_so(threads):
    acted: list[str] = []

    def check() -> bool:
        if acted:
            raise LookupError("no such row")
        return False

    @task
    def fragile():
        yield "fragile"
        yield Asset("x", check)
        yield None
        acted.append("acted")

    root = fragile(threads=threads)
    assert root.status is NodeStatus.FAILED
    assert "asset readiness check raised LookupError: no such row" in str(root.error)


@task
def loop_a():
    yield "loop a"
    yield Asset(None, lambda: False)
    yield loop_b()


@task
def loop_b():
    yield "loop b"
    yield Asset(None, lambda: False)
    yield loop_c()


@task
def loop_c():
    yield "loop c"
    yield Asset(None, lambda: False)
    yield loop_a()


@task
def loop_self():
    yield "loop self"
    yield Asset(None, lambda: False)
    yield loop_self()


@collection
def loop_through_collection():
    yield "loop collection"
    yield [loop_member()]


@task
def loop_member():
    yield "loop member"
    yield Asset(None, lambda: False)
    yield loop_through_collection()


@pytest.mark.parametrize(
    ("root", "cycle"),
    [
        (loop_a, ["loop a", "loop b", "loop c", "loop a"]),
        (loop_self, ["loop self", "loop self"]),
        (loop_through_collection, ["loop collection", "loop member", "loop collection"]),
    ],
    ids=["three tasks", "itself", "through a collection"],
)
def test_a_requirement_cycle_is_found_when_the_graph_is_built_and_listed(root, cycle):
    with pytest.raises(CycleError) as caught:
        root.build()
    assert caught.value.cycle == cycle
    assert str(caught.value) == "Requirement cycle: " + " -> ".join(cycle)


def test_two_task_functions_with_one_name_are_one_task_with_a_warning_naming_both(logs):
    @task
    def first_maker():
        yield "shared name"
        yield Asset(None, lambda: True)
        yield None

    @task
    def second_maker():
        yield "shared name"
        yield Asset(None, lambda: True)
        yield None

    @collection
    def both():
        yield "both"
        yield [first_maker(), second_maker(), second_maker(), first_maker()]

    both.build()
    warnings = [line for line in logs if line.startswith("WARNING") and "shared name" in line]
    assert len(warnings) == 1, warnings
    assert ".first_maker and " in warnings[0]
    assert ".second_maker)" in warnings[0]
    assert "treated as one task" in warnings[0]


def test_one_task_function_called_twice_with_one_name_is_no_warning(logs):
    @task
    def maker(n):
        yield "same every time"
        yield Asset(n, lambda: True)
        yield None

    @collection
    def both():
        yield "both"
        yield [maker(1), maker(2)]

    both.build()
    assert not [line for line in logs if line.startswith("WARNING")]


@task
def leaf():
    yield "leaf"
    yield Asset(None, lambda: True)
    yield None


# `yield from`: the decorator cannot count these yields, so the mistakes show when built.
@task
def yields_nothing():
    yield from ()  # pragma: no cover


@task
def yields_only_a_name():
    yield from ("only a name",)


@task
def yields_no_requirements():
    yield from ("no requirements", Asset(None, lambda: False))


@task
def yields_a_number_as_name():
    yield 42
    yield Asset(None, lambda: False)
    yield None


@task
def yields_a_string_requirement():
    yield "string requirement"
    yield Asset(None, lambda: False)
    yield "leaf"


@task
def yields_an_uncalled_requirement():
    yield "uncalled requirement"
    yield Asset(None, lambda: False)
    yield leaf


@task
def yields_a_node_as_asset():
    yield "node as asset"
    yield leaf()
    yield None


@task
def yields_a_string_as_asset():
    yield "string as asset"
    yield "out.txt"
    yield None


@external
def external_with_a_node():
    yield "external node"
    yield leaf()


@collection
def collection_with_an_asset():
    yield "collection asset"
    yield Asset(None, lambda: True)


@pytest.mark.parametrize(
    ("function", "name", "fragment"),
    [
        (yields_nothing, "yields_nothing", "stopped before yielding its name"),
        (yields_only_a_name, "only a name", "stopped before yielding asset(s)"),
        (yields_no_requirements, "no requirements", "stopped before yielding requirement(s)"),
        (yields_a_number_as_name, "yields_a_number_as_name",
         "the first yield must be the task name (a str), got 42"),
        (yields_a_string_requirement, "string requirement",
         "as requirement(s), got str: 'leaf'"),
        (yields_an_uncalled_requirement, "uncalled requirement",
         "itself as a requirement; call it"),
        (yields_a_node_as_asset, "node as asset",
         "yielded task 'leaf' where an asset was expected"),
        (yields_a_string_as_asset, "string as asset", "as asset(s), got str: 'out.txt'"),
        (external_with_a_node, "external node", "yielded task 'leaf' where an asset was expected"),
        (collection_with_an_asset, "collection asset", "as requirement(s), got Asset"),
    ],
    ids=lambda value: getattr(value, "__name__", None),
)
def test_protocol_mistakes_are_found_when_the_graph_is_built_and_name_the_task(
        function, name, fragment):
    with pytest.raises(ProtocolError, match=re.escape(fragment)) as caught:
        function.build()
    assert caught.value.task == name
    assert str(caught.value).startswith(f"Task '{name}': ")


def test_yielding_after_the_requirements_fails_the_task_and_the_run_returns(logs):
    @task
    def chatty():
        yield "chatty"
        yield Asset(None, lambda: False)
        yield None
        yield "more"

    root = chatty()
    assert root.status is NodeStatus.FAILED
    assert isinstance(root.error, ProtocolError)
    assert "ERROR chatty: Task failed: Task 'chatty': yielded again after its requirement(s)" \
        in logs


def _plain(path):
    return path


@pytest.mark.parametrize("decorator", [collection, external])
def test_collection_and_external_refuse_a_function_that_is_not_a_generator(decorator):
    with pytest.raises(TypeError, match=rf"@{decorator.__name__} needs a generator function, "
                                        rf"got <function _plain"):
        decorator(_plain)


@pytest.mark.parametrize("decorate", [lambda v: task(v), lambda v: task(retries=1)(v)],
                         ids=["bare", "with options"])
def test_task_refuses_what_is_not_callable(decorate):
    with pytest.raises(TypeError, match="@task decorates functions, got 42"):
        decorate(42)


# -- the builder -----------------------------------------------------------------------------


def _process(body, **members: Any) -> type[ProcessDefinition]:
    """A definition named Wrong whose define_process is ``body(self, builder)``."""
    return type("Wrong", (ProcessDefinition,), {"define_process": body, **members})


@pytest.mark.parametrize("step", [42, "Wrong.step", None])
def test_builder_task_refuses_a_step_that_is_not_callable(step):
    with pytest.raises(ArgumentError, match=re.escape(
            f"builder.task needs a callable or a node, got {step!r}")) as caught:
        _process(lambda self, builder: builder.task(step)).build()
    assert caught.value.value == step


@task
def asset_step(n):
    yield f"asset step {n}"
    yield Asset(None, lambda: True)
    yield None


class MethodTask(ProcessDefinition):
    def define_process(self, builder):
        builder.task(self.fetch)

    @task
    def fetch(self):
        yield "fetch"
        yield Asset(None, lambda: True)
        yield None


@pytest.mark.parametrize(
    ("definition", "named"),
    [
        (_process(lambda self, builder: builder.task(asset_step)), "asset_step"),
        (MethodTask, "MethodTask.fetch"),
    ],
    ids=["function", "method"],
)
def test_builder_task_refuses_a_task_function_that_was_not_called(definition, named):
    with pytest.raises(ArgumentError, match="call it with its arguments to get a node") as caught:
        definition.build()
    assert named in str(caught.value)


class EachYields(ProcessDefinition):
    produced: ClassVar[Any] = None

    def define_process(self, builder):
        for item in builder.each(self.items):
            item.task(self.step)

    def items(self):
        yield from EachYields.produced

    def step(self, **kwargs):
        return kwargs


@pytest.mark.parametrize(
    "item",
    [["not", "a", "dict"], "a string", ({"a": 1}, 2), ({"a": 1}, "desc", "k", "extra"), None],
    ids=repr,
)
def test_each_refuses_an_item_that_is_not_a_dict_or_a_pair(item):
    EachYields.produced = [{"fine": 1}, item]
    with pytest.raises(ArgumentError, match=re.escape(
            "each: EachYields.items must produce a dict or a (dict, description) pair, "
            f"got {item!r}")) as caught:
        EachYields.build()
    assert caught.value.name == "each"


def test_each_refuses_an_item_whose_keys_are_not_strings():
    EachYields.produced = [{1: "one"}]
    with pytest.raises(ArgumentError, match=r"each: EachYields\.items .*1"):
        EachYields.build()


class NotIterable(ProcessDefinition):
    def define_process(self, builder):
        for item in builder.each(self.count):
            item.task(lambda: None)

    def count(self):
        return 42


def test_each_refuses_a_function_whose_result_is_not_iterable():
    with pytest.raises(ArgumentError, match=re.escape(
            "each: NotIterable.count must yield dicts, got 42")):
        NotIterable.build()


class Transformed(ProcessDefinition):
    produced: ClassVar[Any] = None

    def define_process(self, builder):
        with builder.transform(self.change) as changed:
            changed.task(lambda: None)

    def change(self):
        return Transformed.produced


@pytest.mark.parametrize("produced", [["a"], None, "n=2", ({"n": 2}, 3)], ids=repr)
def test_transform_refuses_a_result_that_is_not_a_dict_or_a_pair(produced):
    Transformed.produced = produced
    with pytest.raises(ArgumentError, match=re.escape(
            "transform: Transformed.change must produce a dict or a (dict, description) pair, "
            f"got {produced!r}")) as caught:
        Transformed.build()
    assert caught.value.name == "transform"


def _each(builder):
    for item in builder.each(42):
        item.task(lambda: None)


def _transform(builder):
    with builder.transform(42) as changed:
        changed.task(lambda: None)


@pytest.mark.parametrize(("use", "method"), [(_each, "each"), (_transform, "transform")])
def test_each_and_transform_refuse_a_function_that_is_not_callable_naming_themselves(use, method):
    with pytest.raises(ArgumentError, match="got 42") as caught:
        _process(lambda self, builder: use(builder)).build()
    assert method in str(caught.value)


@pytest.mark.parametrize("name", [1, None, ("notify",)], ids=repr)
def test_option_refuses_a_name_that_is_not_a_string(name):
    with pytest.raises(ArgumentError, match=re.escape(
            f"option name must be a string, got {name!r}")):
        _process(lambda self, builder: builder.option(name)).build()


def test_a_step_needing_an_argument_the_process_lacks_fails_the_build():
    class Lacking(ProcessDefinition):
        def define_process(self, builder):
            builder.task(self.load)

        def load(self, path, mode, verbose=False):
            pass

    with pytest.raises(ArgumentError, match=re.escape(
            "step 'Lacking.load' needs argument(s) mode that the process does not have "
            "(it has: path, other)")) as caught:
        Lacking.build(path="a", other=1)
    assert caught.value.name == "mode"


@pytest.mark.parametrize(
    ("arguments", "name", "fragment"),
    [
        ({}, "count", "Expecting: missing argument 'count' (expected int)"),
        ({"count": "3"}, "count", "Expecting: argument 'count' expected int, got '3'"),
        ({"count": 3, "files": ["a", 2]}, "files",
         "Expecting: argument 'files' expected list[str] | None, got ['a', 2]"),
    ],
)
def test_expected_arguments_name_the_argument_the_type_and_the_value(arguments, name, fragment):
    class Expecting(ProcessDefinition):
        def define_process(self, builder):
            builder.expected_arguments(count=int, files=list[str] | None)
            builder.task(self.step)

        def step(self):
            pass

    with pytest.raises(ArgumentError, match=re.escape(fragment)) as caught:
        Expecting.build(**arguments)
    assert caught.value.name == name
    assert caught.value.value == arguments.get(name)


def test_expected_arguments_refuse_a_type_that_is_not_a_type():
    class BadHint(ProcessDefinition):
        def define_process(self, builder):
            builder.expected_arguments(count=5)

    with pytest.raises(ArgumentError, match="count") as caught:
        BadHint.build(count=3)
    assert "5" in str(caught.value)


class Embedded(ProcessDefinition):
    def define_process(self, builder):
        builder.task(self.step)

    def step(self):
        pass


@pytest.mark.parametrize("definition", [42, Embedded(), _plain, "Embedded"], ids=repr)
def test_sub_process_refuses_what_is_not_a_definition_class(definition):
    with pytest.raises(ArgumentError, match=re.escape(
            f"sub_process needs a ProcessDefinition subclass, got {definition!r}")):
        _process(lambda self, builder: builder.sub_process(definition)).build()


@pytest.mark.parametrize("options", ["notify", 42, ["notify"]], ids=repr)
def test_build_refuses_options_that_are_not_a_dict(options):
    with pytest.raises(ArgumentError, match="options") as caught:
        Recorded.build(options=options)
    assert repr(options) in str(caught.value)


# -- worker processes ------------------------------------------------------------------------


class LockedStep(ProcessDefinition):
    """A step sent to a worker process with an argument that cannot be pickled."""

    failures: ClassVar[list[tuple[str, str]]] = []
    retries: ClassVar[int] = 0

    def define_process(self, builder):
        builder.task(self.use_lock, executor="process", retries=LockedStep.retries)
        builder.task(self.after)

    def use_lock(self, lock) -> str:
        return "never"

    def after(self) -> str:
        return "never either"

    def on_failed(self, identifier, step, error):
        LockedStep.failures.append((step, str(error)))


def test_an_unpicklable_step_argument_fails_the_step_naming_it_and_the_run_returns(logs):
    root = LockedStep.run(lock=threading.Lock())
    assert not root.ready
    nodes = nodes_of(root)
    step = nodes["LockedStep.use_lock"]
    assert step.status is NodeStatus.FAILED
    assert isinstance(step.error, ArgumentError)
    assert "step 'LockedStep.use_lock' cannot run in a worker process" in str(step.error)
    assert "argument 'lock'" in str(step.error)
    assert nodes["LockedStep.after"].status is NodeStatus.NOT_READY
    assert [s for s, _ in LockedStep.failures] == ["LockedStep.use_lock"]
    errors = [line for line in logs if line.startswith("ERROR LockedStep.use_lock: Task failed")]
    assert len(errors) == 1
    assert "argument 'lock'" in errors[0]


def test_a_task_function_defined_in_a_function_fails_when_sent_to_a_worker(tmp_path, logs):
    @task(executor="process")
    def local_task(name):
        yield f"local {name}"
        yield Asset(None, lambda: False)
        yield None

    root = local_task("x", processes=1)
    assert root.status is NodeStatus.FAILED
    assert isinstance(root.error, ProtocolError)
    assert root.error.task == "local x"
    assert "defined inside a function; define it at module level" in str(root.error)
    assert any(line.startswith("ERROR local x: Task failed: Task 'local x': cannot run in a "
                               "worker process") for line in logs)


def _local_asset_task_with_retries():
    @task(executor="process", retries=2)
    def local_retried(name):
        yield f"local retried {name}"
        yield Asset(None, lambda: False)
        yield None

    return local_retried("x", processes=1), "local retried x"


def _unpicklable_step_with_retries():
    LockedStep.retries = 2
    try:
        return nodes_of(LockedStep.run(lock=threading.Lock())), "LockedStep.use_lock"
    finally:
        LockedStep.retries = 0


@pytest.mark.parametrize("make", [_local_asset_task_with_retries, _unpicklable_step_with_retries],
                         ids=["task function in a function", "unpicklable step argument"])
def test_what_can_never_be_sent_to_a_worker_is_not_retried(make, logs):
    outcome, name = make()
    node = outcome[name] if isinstance(outcome, dict) else outcome
    assert node.status is NodeStatus.FAILED
    assert not [line for line in logs if "Attempt 1 of 3 failed" in line]
    assert node.attempt == 1


# -- the command line ------------------------------------------------------------------------

FLOWS = '''
from tasktronaut import Asset, task


@task
def ping():
    yield "ping"
    yield Asset(None, lambda: False)
    yield pong()


@task
def pong():
    yield "pong"
    yield Asset(None, lambda: False)
    yield ping()


@task
def confused():
    yield "confused"
    yield ping
    yield None
'''


@pytest.fixture
def flows(tmp_path, monkeypatch):
    """A module of broken workflows, with a name of its own."""
    name = f"bad_{tmp_path.name.replace('-', '_')}"
    path = tmp_path / f"{name}.py"
    path.write_text(FLOWS)
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield path
    sys.modules.pop(name, None)


@pytest.mark.usefixtures("loguru_reset")
@pytest.mark.parametrize(
    ("target", "line"),
    [
        ("ping", "Error: Requirement cycle: ping -> pong -> ping"),
        ("confused", "Error: Task 'confused': expected an Asset, a list or dict of Assets, or "
                     "None as asset(s), got TaskFunction"),
    ],
)
def test_the_command_line_reports_a_broken_graph_in_one_line(flows, target, line):
    result = CliRunner().invoke(cli, ["run", f"{flows}:{target}"])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(line)
    assert "Traceback" not in result.stderr
