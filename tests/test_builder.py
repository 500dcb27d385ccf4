"""The builder DSL: each, transform, option, expected_arguments, step names and descriptions."""

import re
import threading
from datetime import date
from typing import Any, Optional

import pytest

from tasktronaut import (
    ArgumentError,
    Builder,
    ExecutionMode,
    ProcessDefinition,
    TasktronautError,
    task,
)
from tasktronaut.testing import order, plan, steps


def step_names(definition: type[ProcessDefinition], **kwargs: Any) -> list[str]:
    return order(definition, **kwargs)


# each


class Files(ProcessDefinition):
    """One load step per file; the items are plain dicts."""

    def define_process(self, builder: Builder) -> None:
        for item in builder.each(self.files):
            item.task(self.load)

    def files(self, names):
        for name in names:
            yield {"name": name}

    def load(self, name, context):
        return (name, context.description, context.kwargs)


def test_each_adds_one_sub_block_per_dict_merged_over_the_arguments():
    root = Files.run(names=["a", "b"], other=1)
    assert root.ready
    assert root.ref == {
        "Files.load(name='a')": ("a", "load", {"names": ["a", "b"], "other": 1, "name": "a"}),
        "Files.load(name='b')": ("b", "load", {"names": ["a", "b"], "other": 1, "name": "b"}),
    }


def test_each_item_keys_win_over_process_arguments():
    root = Files.run(names=["from item"], name="from process")
    assert next(iter(root.ref.values()))[0] == "from item"


def test_each_accepts_dict_and_description_pairs():
    class Described(ProcessDefinition):
        def define_process(self, builder):
            for item in builder.each(self.items):
                item.task(self.show)

        def items(self):
            yield {"n": 1}, "First item"
            yield {"n": 2}, None
            yield {"n": 3}

        def show(self, n, context):
            return context.description

    root = Described.run()
    assert root.ref == {
        "Described.show(n=1)": "First item",
        "Described.show(n=2)": "show",
        "Described.show(n=3)": "show",
    }
    blocks = plan(Described)["steps"]
    assert blocks[0]["description"] == "First item"
    assert "description" not in blocks[1]


def test_each_description_argument_is_the_default_for_items_without_one():
    class Defaulted(ProcessDefinition):
        def define_process(self, builder):
            for item in builder.each(self.items, description="An item"):
                item.task(self.show)

        def items(self):
            yield {"n": 1}, "Own description"
            yield {"n": 2}

        def show(self, context):
            return context.description

    assert list(Defaulted.run().ref.values()) == ["Own description", "An item"]


def test_each_function_gets_the_arguments_it_accepts():
    got = {}

    class Picky(ProcessDefinition):
        def define_process(self, builder):
            for item in builder.each(self.items):
                item.task(self.noop)

        def items(self, count, **rest):
            got.update(count=count, rest=rest)
            return [{"i": i} for i in range(count)]

        def noop(self, i):
            return i

    assert Picky.run(count=2, extra="x").ref == {"Picky.noop(i=0)": 0, "Picky.noop(i=1)": 1}
    assert got == {"count": 2, "rest": {"extra": "x"}}


def test_each_iterations_run_in_order_in_a_sequential_process():
    class InTurn(ProcessDefinition):
        def define_process(self, builder):
            for item in builder.each(self.items):
                item.task(self.load)
                item.task(self.save)

        def items(self):
            yield {"f": "a"}
            yield {"f": "b"}

        def load(self, f, seen):
            seen.append(f"load {f}")

        def save(self, f, seen):
            seen.append(f"save {f}")

    seen: list[str] = []
    assert InTurn.run(threads=4, seen=seen).ready
    assert seen == ["load a", "save a", "load b", "save b"]


def test_each_iterations_run_side_by_side_in_a_concurrent_process():
    meeting = threading.Barrier(3, timeout=30)

    class SideBySide(ProcessDefinition):
        process_execution_mode = ExecutionMode.CONCURRENT

        def define_process(self, builder):
            for item in builder.each(self.items):
                with item.sequential() as one:
                    one.task(self.meet)
                    one.task(self.after)

        def items(self):
            return ({"i": i} for i in range(3))

        def meet(self, i, seen):
            meeting.wait()
            seen.append(f"met {i}")

        def after(self, i, seen):
            assert f"met {i}" in seen
            seen.append(f"after {i}")

    seen: list[str] = []
    assert SideBySide.run(threads=3, seen=seen).ready
    assert sorted(seen) == ["after 0", "after 1", "after 2", "met 0", "met 1", "met 2"]
    for i in range(3):
        assert seen.index(f"met {i}") < seen.index(f"after {i}")


def test_nested_each_combines_the_items_in_step_names():
    class Grid(ProcessDefinition):
        def define_process(self, builder):
            for row in builder.each(self.rows):
                for cell in row.each(self.cells):
                    cell.task(self.visit)

        def rows(self):
            yield {"r": 1}
            yield {"r": 2}

        def cells(self, r):
            yield {"c": r * 10}

        def visit(self, r, c):
            return (r, c)

    root = Grid.run()
    assert root.ref == {"Grid.visit(r=1, c=10)": (1, 10), "Grid.visit(r=2, c=20)": (2, 20)}


@pytest.mark.parametrize(
    ("produced", "message"),
    [
        ([["not", "a", "dict"]], "each: .* must produce a dict or a \\(dict, description\\) pair"),
        ([({"a": 1}, 2)], "must produce a dict or a \\(dict, description\\) pair, got"),
        (42, "each: .* must yield dicts, got 42"),
    ],
)
def test_each_refuses_what_is_not_a_dict_or_a_pair(produced, message):
    class Wrong(ProcessDefinition):
        def define_process(self, builder):
            for item in builder.each(lambda: produced):
                item.task(lambda: None)

    with pytest.raises(ArgumentError, match=message):
        Wrong.build()


# transform


def test_transform_merges_a_dict_over_the_arguments_for_its_steps_only():
    class Shout(ProcessDefinition):
        def define_process(self, builder):
            with builder.transform(self.upper) as loud:
                loud.task(self.say)
            builder.task(self.say)

        def upper(self, word):
            return {"word": word.upper(), "loud": True}

        def say(self, word, context):
            return (word, context.kwargs.get("loud", False), context.description)

    root = Shout.run(word="hi")
    assert root.ref == {
        "Shout.say(word='HI', loud=True)": ("HI", True, "say"),
        "Shout.say": ("hi", False, "say"),
    }


def test_transform_accepts_a_dict_and_description_pair():
    class Described(ProcessDefinition):
        def define_process(self, builder):
            with builder.transform(self.double) as doubled:
                doubled.task(self.show)

        def double(self, n):
            return {"n": n * 2}, "Doubled"

        def show(self, n, context):
            return (n, context.description)

    root = Described.run(n=4)
    assert root.ref == {"Described.show(n=8)": (8, "Doubled")}
    assert plan(Described, n=4)["steps"] == [
        {
            "sequential": [
                {"step": "Described.show(n=8)", "description": "Doubled", "kwargs": {"n": 8}},
            ],
            "description": "Doubled",
            "kwargs": {"n": 8},
        },
    ]


def test_transforms_nest_and_follow_the_surrounding_mode():
    class Nested(ProcessDefinition):
        process_execution_mode = ExecutionMode.CONCURRENT

        def define_process(self, builder):
            with builder.transform(lambda n: {"n": n + 1}, description="Plus one") as one:
                one.task(self.show)
                with one.transform(lambda n: {"m": n * 10}) as ten:
                    ten.task(self.show)

        def show(self, n, context):
            return (n, context.kwargs.get("m"), context.description)

    root = Nested.run(n=1)
    assert root.ref == {
        "Nested.show(n=2)": (2, None, "Plus one"),
        "Nested.show(n=2, m=20)": (2, 20, "Plus one"),
    }
    outer = plan(Nested, n=1)["steps"][0]
    assert "concurrent" in outer
    assert "concurrent" in outer["concurrent"][1]


def test_a_nested_scope_overriding_an_argument_names_the_step_by_the_value_it_sees():
    class Override(ProcessDefinition):
        def define_process(self, builder):
            with builder.transform(lambda: {"n": 2}) as outer:
                outer.task(self.show)
                with outer.transform(lambda: {"n": 20}) as inner:
                    inner.task(self.show)

        def show(self, n):
            return n

    assert Override.run().ref == {"Override.show(n=2)": 2, "Override.show(n=20)": 20}


def test_transform_refuses_what_is_not_a_dict():
    class Wrong(ProcessDefinition):
        def define_process(self, builder):
            with builder.transform(lambda: ["a"]) as t:
                t.task(lambda: None)

    with pytest.raises(ArgumentError, match=r"transform: .* must produce a dict"):
        Wrong.build()


# option


class Notify(ProcessDefinition):
    def define_process(self, builder):
        builder.task(self.work)
        if builder.option("notify", False):
            builder.task(self.notify)
        builder.task(self.level, description=f"Level {builder.option('level', 'low')}")

    def work(self):
        return "worked"

    def notify(self):
        return "notified"

    def level(self):
        return "level"


def test_option_returns_the_default_when_not_given():
    assert step_names(Notify) == ["Notify.work", "Level low"]


def test_option_returns_the_value_given():
    names = step_names(Notify, options={"notify": True, "level": "high"})
    assert names == ["Notify.work", "Notify.notify", "Level high"]
    assert Notify.run(options={"notify": True}).ref["Notify.notify"] == "notified"


def test_option_names_must_be_strings():
    class Wrong(ProcessDefinition):
        def define_process(self, builder):
            builder.option(1)

    with pytest.raises(ArgumentError, match="option name must be a string, got 1"):
        Wrong.build()


def test_builder_exposes_the_arguments_and_options_it_sees():
    seen = {}

    class Peek(ProcessDefinition):
        def define_process(self, builder):
            seen["top"] = (builder.kwargs, builder.options)
            with builder.transform(lambda: {"extra": 1}) as t:
                seen["inner"] = t.kwargs

    Peek.build(options={"o": 1}, a=1)
    assert seen == {"top": ({"a": 1}, {"o": 1}), "inner": {"a": 1, "extra": 1}}


# expected_arguments


def checked(**types: Any) -> type[ProcessDefinition]:
    class Checked(ProcessDefinition):
        def define_process(self, builder):
            builder.expected_arguments(**types)
            builder.task(self.echo)

        def echo(self, **kwargs):
            return kwargs

    return Checked


@pytest.mark.parametrize(
    ("types", "arguments"),
    [
        ({"files": list[str]}, {"files": ["a", "b"]}),
        ({"files": list[str]}, {"files": []}),
        ({"counts": dict[str, int]}, {"counts": {"a": 1}}),
        ({"day": Optional[date]}, {"day": date(2025, 11, 17)}),  # noqa: UP045
        ({"day": Optional[date]}, {"day": None}),  # noqa: UP045
        ({"day": date | None}, {"day": None}),
        ({"anything": None}, {"anything": object()}),
        ({"anything": None}, {"anything": None}),
        ({"n": int}, {"n": 3, "undeclared": "extra is fine"}),
    ],
)
def test_expected_arguments_accepts_matching_values(types, arguments):
    root = checked(**types).run(**arguments)
    assert root.ready
    assert root.ref["Checked.echo"] == arguments


@pytest.mark.parametrize("hint", [Optional[date], date | None])  # noqa: UP045
def test_an_optional_argument_may_be_omitted_and_is_then_none(hint):
    root = checked(day=hint).run(other=1)
    assert root.ref["Checked.echo"] == {"other": 1, "day": None}


@pytest.mark.parametrize(
    ("types", "arguments", "name", "message"),
    [
        ({"files": list[str]}, {"files": ["a", 2]}, "files",
         "argument 'files' expected list[str], got ['a', 2]"),
        ({"files": list[str]}, {"files": "a"}, "files",
         "argument 'files' expected list[str], got 'a'"),
        ({"counts": dict[str, int]}, {"counts": {"a": 1, "b": "2"}}, "counts",
         "argument 'counts' expected dict[str, int], got {'a': 1, 'b': '2'}"),
        ({"day": Optional[date]}, {"day": "2025-11-17"}, "day",  # noqa: UP045
         "argument 'day' expected Optional[datetime.date], got '2025-11-17'"),
        ({"n": int}, {"n": "3"}, "n", "argument 'n' expected int, got '3'"),
        ({"n": int}, {}, "n", "missing argument 'n' (expected int)"),
        ({"anything": None}, {}, "anything", "missing argument 'anything' (expected any value)"),
    ],
)
def test_expected_arguments_refuses_missing_or_wrong_values(types, arguments, name, message):
    with pytest.raises(ArgumentError, match=re.escape(message)) as caught:
        checked(**types).build(**arguments)
    assert caught.value.name == name
    assert caught.value.value == arguments.get(name)
    assert str(caught.value).startswith("Checked: ")
    assert isinstance(caught.value, TasktronautError)


def test_expected_arguments_fail_before_any_step_or_hook_runs():
    called = []

    class Strict(ProcessDefinition):
        def on_started(self, identifier):
            called.append("started")

        def define_process(self, builder):
            builder.expected_arguments(n=int)
            builder.task(self.work)

        def work(self):
            called.append("work")

    with pytest.raises(ArgumentError):
        Strict.run(n="not a number")
    assert called == []


def test_expected_types_lists_the_declared_arguments():
    assert checked(files=list[str], day=None).expected_types() == {"files": list[str], "day": None}


# Step names and descriptions


def test_step_names_follow_description_then_task_description_then_class_and_method():
    class Names(ProcessDefinition):
        def define_process(self, builder):
            builder.task(self.plain)
            builder.task(self.decorated)
            builder.task(self.plain, description="Given here")
            builder.task(helper)
            with builder.transform(lambda: {"k": "v"}) as t:
                t.task(self.plain)
                t.task(self.decorated)

        def plain(self):
            pass

        @task(description="From the decorator")
        def decorated(self):
            pass

    assert step_names(Names) == [
        "Names.plain",
        "From the decorator",
        "Given here",
        "helper",
        "Names.plain(k='v')",
        "From the decorator (k='v')",
    ]


def helper():
    return "helped"


def test_colliding_names_are_made_unique():
    class Repeats(ProcessDefinition):
        def define_process(self, builder):
            builder.task(self.again)
            builder.task(self.again)
            builder.task(self.again)
            builder.task(self.other, description="Same")
            builder.task(self.other, description="Same")
            for item in builder.each(lambda: [{"x": 1}, {"x": 1}]):
                item.task(self.again)

        def again(self, context):
            return context.step

        def other(self):
            pass

    root = Repeats.run()
    assert list(root.ref) == [
        "Repeats.again",
        "Repeats.again #2",
        "Repeats.again #3",
        "Same",
        "Same #2",
        "Repeats.again(x=1)",
        "Repeats.again(x=1) #2",
    ]
    assert root.ref["Repeats.again #3"] == "Repeats.again #3"


def test_the_same_step_in_two_iterations_with_different_arguments_is_two_steps():
    names = step_names(Files, names=["a", "b"])
    assert names == ["Files.load(name='a')", "Files.load(name='b')"]


def test_names_are_unique_across_a_process_and_its_sub_processes():
    class Part(ProcessDefinition):
        def define_process(self, builder):
            builder.task(self.step, description="Shared name")

        def step(self):
            pass

    class Whole(ProcessDefinition):
        def define_process(self, builder):
            builder.task(self.step, description="Shared name")
            builder.sub_process(Part)
            builder.sub_process(Part)

        def step(self):
            pass

    names = step_names(Whole)
    assert names == ["Shared name", "Shared name #2", "Shared name #3"]
    assert len({n.taskname for n in steps(Whole.build())}) == 3


def test_description_precedence():
    class Precedence(ProcessDefinition):
        def define_process(self, builder):
            builder.task(self.plain)
            with builder.sequential(description="Block") as block:
                block.task(self.plain)
                for item in block.each(lambda: [({"i": 1}, "Item")]):
                    item.task(self.plain)
                    item.task(self.decorated)
                    item.task(self.decorated, description="Explicit")

        def plain(self, context):
            return context.description

        @task(description="Decorated")
        def decorated(self, context):
            return context.description

    root = Precedence.run()
    assert list(root.ref.values()) == [
        "plain",  # the method name
        "Block",  # the enclosing block's
        "Item",  # the item's, over the block's
        "Decorated",  # @task(description=) over the item's
        "Explicit",  # builder.task(description=) over everything
    ]


def test_task_on_a_method_keeps_it_directly_callable():
    class Direct(ProcessDefinition):
        def define_process(self, builder):
            builder.task(self.double)

        @task(description="Double it", retries=2)
        def double(self, n):
            return n * 2

    assert Direct().double(n=21) == 42
    assert Direct.run(n=2).ref == {"Double it": 4}


def test_plain_callables_and_lambdas_are_steps_too():
    class Callables(ProcessDefinition):
        def define_process(self, builder):
            builder.task(helper)
            builder.task(lambda n: n + 1, description="Add one")

    assert Callables.run(n=1).ref == {"helper": "helped", "Add one": 2}


def test_builder_task_refuses_what_is_not_callable():
    class Wrong(ProcessDefinition):
        def define_process(self, builder):
            builder.task("not a function")

    with pytest.raises(ArgumentError, match="builder\\.task needs a callable or a node"):
        Wrong.build()


def test_builder_task_refuses_an_uncalled_task_function():
    @task
    def asset_task(n):
        yield f"asset {n}"
        yield None
        yield None

    class Wrong(ProcessDefinition):
        def define_process(self, builder):
            builder.task(asset_task)

    with pytest.raises(ArgumentError, match="call it with its arguments to get a node"):
        Wrong.build()


# The plan


def test_plan_is_the_nested_structure_of_blocks_and_steps():
    class Shop(ProcessDefinition):
        def define_process(self, builder):
            builder.expected_arguments(items=list[str])
            builder.task(self.open)
            with builder.concurrent(description="Fill the shelves") as shelves:
                for item in shelves.each(self.each_item):
                    item.task(self.stock)
            builder.sub_process(Till)

        def each_item(self, items):
            for name in items:
                yield {"item": name}, f"Stock {name}"

        def open(self):
            pass

        def stock(self, item):
            pass

    class Till(ProcessDefinition):
        process_execution_mode = ExecutionMode.CONCURRENT

        def define_process(self, builder):
            builder.task(self.count, description="Count the money")

        def count(self, **kwargs):
            pass

    assert plan(Shop, items=["tea"]) == {
        "process": "Shop",
        "mode": "sequential",
        "steps": [
            {"step": "Shop.open", "description": "open", "kwargs": {}},
            {
                "concurrent": [
                    {
                        "concurrent": [
                            {
                                "step": "Shop.stock(item='tea')",
                                "description": "Stock tea",
                                "kwargs": {"item": "tea"},
                            },
                        ],
                        "description": "Stock tea",
                        "kwargs": {"item": "tea"},
                    },
                ],
                "description": "Fill the shelves",
            },
            {
                "process": "Till",
                "mode": "concurrent",
                "steps": [
                    {
                        "step": "Count the money",
                        "description": "Count the money",
                        "kwargs": {"items": ["tea"]},
                    },
                ],
            },
        ],
    }
