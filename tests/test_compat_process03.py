"""Code written for tasktronaut 0.3 (process definitions) runs unchanged.

Each test ports one behaviour of 0.3 that a user's code or tests rely on; the remaining
differences are listed, with their reasons, in docs/migrating.md.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Annotated, Any, ClassVar, Optional

import annotated_types as at
import pytest

from tasktronaut import ArgumentError, Context, ProcessDefinition, SQLiteStore, task
from tasktronaut.errors import ArgumentTypeError, MissingArgumentError


class Greeter(ProcessDefinition):
    def define_process(self, builder):
        builder.expected_arguments(name=str, times=int)
        builder.task(self.greet)

    def greet(self, name: str, times: int) -> str:
        return " ".join([f"hello {name}"] * times)


# -- errors ------------------------------------------------------------------------------------


def test_a_missing_argument_is_a_type_error_as_in_0_3():
    with pytest.raises(TypeError, match="missing argument 'times'") as caught:
        Greeter.build(name="ada")
    assert isinstance(caught.value, ArgumentError)
    assert isinstance(caught.value, MissingArgumentError)


def test_an_argument_of_the_wrong_type_is_a_value_error_as_in_0_3():
    with pytest.raises(ValueError, match="argument 'times' expected int, got '2'") as caught:
        Greeter.build(name="ada", times="2")
    assert isinstance(caught.value, ArgumentTypeError)
    assert isinstance(caught.value, ArgumentError)


def test_except_type_error_value_error_around_build_keeps_working():
    caught = []
    for kwargs in ({"name": "ada"}, {"name": "ada", "times": "x"}):
        try:
            Greeter.build(**kwargs)
        except (TypeError, ValueError) as e:
            caught.append(type(e).__name__)
    assert caught == ["MissingArgumentError", "ArgumentTypeError"]


# -- Context, identifier, hooks ------------------------------------------------------------------


class Recorder(ProcessDefinition):
    seen: ClassVar[list[Any]] = []

    def define_process(self, builder):
        builder.task(self.step)

    def step(self, context: Context) -> str:
        Recorder.seen.append(("context", context.identifier))
        return "done"

    def on_started(self, identifier):
        Recorder.seen.append(("started", identifier))


def test_a_context_can_be_made_without_arguments_to_call_a_step_directly():
    Recorder.seen.clear()
    assert Recorder().step(context=Context()) == "done"
    context = Context()
    assert context.identifier is None
    assert context.kwargs == {}
    assert context.results == {}
    assert not context.cancelled


def test_without_an_identifier_one_is_generated_for_hooks_and_context():
    Recorder.seen.clear()
    root = Recorder.run()
    assert root.ready
    (started, given), (step, seen) = Recorder.seen
    assert (started, step) == ("started", "context")
    assert re.fullmatch(r"[0-9a-f]{32}", given)
    assert seen == given
    assert root.identifier == given
    assert root.taskname == "Recorder"  # a generated identifier does not name the process


def test_each_build_generates_a_new_identifier():
    assert Recorder.build().identifier != Recorder.build().identifier


def test_a_given_identifier_is_used_as_it_is():
    Recorder.seen.clear()
    Recorder.run("order-7")
    assert Recorder.seen == [("started", "order-7"), ("context", "order-7")]


def test_a_generated_identifier_cannot_resume_from_a_state_store(tmp_path):
    with pytest.raises(ArgumentError, match="give the process one"):
        Recorder.build().run(state=SQLiteStore(tmp_path / "state.db"))


class FailsOnce(ProcessDefinition):
    failures: ClassVar[list[tuple[str, str]]] = []

    def define_process(self, builder):
        builder.task(self.explode)

    def explode(self):
        raise RuntimeError

    def on_failed(self, identifier, step, e):
        FailsOnce.failures.append((step, type(e).__name__))
        super().on_failed(identifier, step, e=e)


def test_on_failed_takes_its_error_as_e_as_in_0_3(logs):
    FailsOnce.failures.clear()
    root = FailsOnce.run("x")
    assert not root.ready
    assert FailsOnce.failures == [("FailsOnce.explode", "RuntimeError")]
    assert not [line for line in logs if "Hook" in line]
    # an error without a message is named by its type, not left blank
    assert "ERROR FailsOnce [x]: Step FailsOnce.explode failed: RuntimeError" in logs


def test_the_default_hooks_take_0_3_keyword_calls():
    definition = Recorder()
    definition.on_completed(identifier="foo")
    definition.on_cancelled(identifier="foo")
    ProcessDefinition.on_failed(definition, identifier="foo", step="bar",
                                e=NotImplementedError())
    with ProcessDefinition.around_task(definition, identifier="foo", step="bar",
                                       description="baz"):
        pass


# -- our names stay out of the user's way -------------------------------------------------------


class Clashing(ProcessDefinition):
    """Steps and attributes named like the class API."""

    mode = "fast"  # an attribute named like the old mode() classmethod

    def define_process(self, builder):
        builder.expected_arguments(size=int)
        builder.task(self.run)
        builder.task(self.build)
        builder.task(self.expected_types)
        builder.task(self.execution)

    def run(self, size):
        return f"run {size} {self.mode}"

    def build(self, size):
        return f"build {size}"

    def expected_types(self):
        return "expected"

    def execution(self):
        return "execution"


def test_steps_named_run_build_and_expected_types_do_not_hide_the_class_api():
    assert Clashing.expected_types() == {"size": int}
    root = Clashing.build(size=2)
    assert [s.func.__name__ for s in root.steps] == [
        "run", "build", "expected_types", "execution"]
    ran = Clashing.run(size=3)
    assert ran.ready
    assert ran.ref == {
        "Clashing.run": "run 3 fast",
        "Clashing.build": "build 3",
        "Clashing.expected_types": "expected",
        "Clashing.execution": "execution",
    }


def test_a_step_named_run_is_called_directly_on_an_instance():
    assert Clashing().run(size=1) == "run 1 fast"


def test_run_takes_run_settings_apart_from_process_arguments(tmp_path):
    root = Clashing.run("id-1", size=4, threads=2, fail_fast=True,
                        state=SQLiteStore(tmp_path / "s.db"))
    assert root.ready
    assert root.ref["Clashing.run"] == "run 4 fast"
    with pytest.raises(ArgumentError, match="threads must be an integer >= 1"):
        Clashing.run(size=4, threads=0)


# -- modules, decorators, options, inspection -----------------------------------------------------


def test_the_0_3_modules_exist():
    from tasktronaut.context import Context as ContextFromModule
    from tasktronaut.types import Description, Options, TaskArgs  # noqa: F401
    from tasktronaut.utils import load_definition, to_dict, to_kwargs

    assert ContextFromModule is Context
    base = {"a": 1}
    assert to_kwargs(base, b=2, a=3) == {"a": 3, "b": 2}
    assert base == {"a": 1}
    assert to_dict(x=1) == {"x": 1}
    assert isinstance(load_definition(__name__, "Greeter"), Greeter)
    with pytest.raises(TypeError, match="not a ProcessDefinition"):
        load_definition(__name__, "pytest")


class Described(ProcessDefinition):
    seen: ClassVar[dict[str, Any]] = {}

    def define_process(self, builder):
        Described.seen["options"] = builder.options
        Described.seen["top"] = builder.description
        with builder.transform(self.prepare, "prepared") as inner:
            Described.seen["inner"] = inner.description
            inner.task(self.load)
        for item in builder.each(self.items):
            item.task(self.save)

    def prepare(self, **kwargs):
        return {"extra": 1}

    def items(self, **kwargs):
        yield {"n": 1}, "first"
        yield {"n": 2}, "second"

    @task(description="Load it")
    def load(self, extra: int, context: Context):
        return extra

    def save(self, n: int):
        return n


def test_task_description_is_set_on_the_function():
    assert Described.load.description == "Load it"
    assert Described.save.__dict__.get("description") is None


def test_options_may_be_a_simple_namespace_and_read_as_attributes():
    Described.seen.clear()
    Described.build(options=SimpleNamespace(notify=True, channel="ops"))
    options = Described.seen["options"]
    assert options.notify is True
    assert options == SimpleNamespace(notify=True, channel="ops")
    assert options == {"notify": True, "channel": "ops"}
    assert options["channel"] == "ops"
    assert options.get("missing", 5) == 5


def test_the_builder_has_a_description():
    Described.seen.clear()
    Described.build()
    assert Described.seen["top"] is None
    assert Described.seen["inner"] == "prepared"


def test_a_built_process_lists_its_steps_as_0_3_did():
    root = Described.build()
    steps = root.steps
    assert [(s.func.__name__, s.kwargs, s.description) for s in steps] == [
        ("load", {"extra": 1}, "Load it"),
        ("save", {"n": 1}, "first"),
        ("save", {"n": 2}, "second"),
    ]
    assert all(not s.is_process for s in steps)
    assert steps[0].func.__self__.__class__ is Described
    assert root.ready is False  # still a node: it runs like any other
    assert Described.run().ref["Load it (extra=1)"] == 1


class Nested(ProcessDefinition):
    def define_process(self, builder):
        builder.task(self.a)
        with builder.concurrent("both") as block:
            block.task(self.b)
            block.task(self.c)
        builder.sub_process(Greeter)

    def a(self): ...
    def b(self): ...
    def c(self): ...


def test_blocks_and_sub_processes_are_nested_processes_in_the_steps_list():
    a, block, sub = Nested.build(name="ada", times=1).steps
    assert (a.func.__name__, a.is_process) == ("a", False)
    assert (block.is_process, block.mode, block.description) == (True, "concurrent", "both")
    assert [s.func.__name__ for s in block.steps] == ["b", "c"]
    assert sub.is_process
    assert [s.func.__name__ for s in sub.steps] == ["greet"]


# -- constraints (0.3 validated with pydantic) ---------------------------------------------------


class Bounded(ProcessDefinition):
    def define_process(self, builder):
        builder.expected_arguments(
            count=Annotated[int, at.Gt(0)],
            ratio=Optional[Annotated[float, at.Interval(ge=0, le=1)]],  # noqa: UP045
            tags=list[Annotated[str, at.MinLen(2)]],
        )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"count": -1, "tags": []}, "argument 'count' must be > 0, got -1"),
        ({"count": 0, "tags": []}, "argument 'count' must be > 0, got 0"),
        ({"count": 1, "ratio": 1.5, "tags": []}, "argument 'ratio' must be <= 1, got 1.5"),
        ({"count": 1, "tags": ["ok", "x"]}, "argument 'tags' must be of length >= 2"),
    ],
)
def test_annotated_constraints_are_enforced(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        Bounded.build(**kwargs)


def test_values_inside_the_constraints_pass():
    Bounded.build(count=3, ratio=0.5, tags=["ab", "cd"])
    Bounded.build(count=3, tags=[])


class FieldInfo:
    """Stands in for pydantic's ``Field(...)``: its constraints are in ``metadata``."""

    def __init__(self, *metadata: Any) -> None:
        self.metadata = list(metadata)


class PydanticStyle(ProcessDefinition):
    def define_process(self, builder):
        builder.expected_arguments(
            port=Annotated[int, FieldInfo(at.Ge(1), at.Le(65535))],
            even=Annotated[int, at.MultipleOf(2), "an even number"],
            upper=Annotated[str, at.Predicate(str.isupper)],
        )


def test_constraints_inside_a_pydantic_style_field_are_enforced():
    PydanticStyle.build(port=80, even=4, upper="OK")
    with pytest.raises(ValueError, match="'port' must be <= 65535, got 70000"):
        PydanticStyle.build(port=70000, even=4, upper="OK")
    with pytest.raises(ValueError, match="'even' must be a multiple of 2, got 3"):
        PydanticStyle.build(port=80, even=3, upper="OK")
    with pytest.raises(ValueError, match=r"'upper' must be accepted by str\.isupper"):
        PydanticStyle.build(port=80, even=2, upper="no")


class Unsupported(ProcessDefinition):
    def define_process(self, builder):
        builder.expected_arguments(when=Annotated[str, at.Timezone("UTC")])


def test_a_constraint_that_cannot_be_checked_is_refused_at_build_time():
    message = r"expected_arguments\(when=\.\.\.\) has a constraint tasktronaut cannot check"
    with pytest.raises(ArgumentError, match=message):
        Unsupported.build(when="now")


# -- results inside an each iteration ------------------------------------------------------------


class PerItem(ProcessDefinition):
    def define_process(self, builder):
        for item in builder.each(self.items):
            item.task(self.parse)
            item.task(self.use)

    def items(self):
        for n in (1, 2, 3):
            yield {"n": n}

    def parse(self, n: int) -> int:
        return n * 10

    def use(self, n: int, context: Context) -> int:
        return context.result(self.parse) + n


def test_context_result_inside_an_iteration_means_that_iterations_step():
    root = PerItem.run()
    assert root.ready
    assert [v for k, v in root.ref.items() if k.startswith("PerItem.use")] == [11, 22, 33]


class ThreeArgumentAround(ProcessDefinition):
    """An ``around_task`` override written for 0.3: no ``context`` parameter."""

    seen: ClassVar[list[tuple[str, str, str]]] = []

    def define_process(self, builder):
        builder.task(self.step, description="The step")

    def step(self):
        ThreeArgumentAround.seen.append(("ran", "", ""))

    @contextmanager
    def around_task(self, identifier, step, description):
        ThreeArgumentAround.seen.append((identifier, step, description))
        yield


def test_an_around_task_without_context_still_wraps_each_step():
    ThreeArgumentAround.seen.clear()
    root = ThreeArgumentAround.run("r")
    assert root.ready
    assert ThreeArgumentAround.seen == [("r", "The step", "The step"), ("ran", "", "")]


class DefaultsOverride(ProcessDefinition):
    """Overrides the class API itself (a classmethod): that override is kept."""

    def define_process(self, builder):
        builder.task(self.work)

    def work(self, size):
        return size

    @classmethod
    def run(cls, identifier=None, options=None, **kwargs):
        kwargs.setdefault("size", 7)
        return super().run(identifier, options, **kwargs)


def test_a_classmethod_override_of_run_is_kept():
    assert DefaultsOverride.run().ref == {"DefaultsOverride.work": 7}
