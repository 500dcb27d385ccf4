"""Process definitions: building, running, execution modes, arguments, context and results."""

import threading

import pytest

from tasktronaut import (
    ArgumentError,
    Builder,
    Context,
    ExecutionMode,
    Node,
    NodeKind,
    NodeStatus,
    NonRetryableProcessError,
    ProcessDefinition,
    TasktronautError,
)
from tasktronaut.testing import order, steps

SEQUENTIAL, CONCURRENT = ExecutionMode.SEQUENTIAL, ExecutionMode.CONCURRENT


def barrier(parties: int) -> threading.Barrier:
    """A barrier that breaks (failing the step waiting on it) if the steps are not concurrent."""
    return threading.Barrier(parties, timeout=30)


class Recorder(ProcessDefinition):
    """A process whose steps append their names to a list given as the ``seen`` argument."""

    def record(self, name: str, seen: list) -> str:
        seen.append(name)
        return name


class Greeting(Recorder):
    def define_process(self, builder: Builder) -> None:
        builder.expected_arguments(name=str, seen=list)
        builder.task(self.hello)
        builder.task(self.goodbye)

    def hello(self, name: str, seen: list) -> str:
        return self.record(f"hello {name}", seen)

    def goodbye(self, name: str, seen: list) -> str:
        return self.record(f"goodbye {name}", seen)


# Building and running


def test_build_compiles_the_process_and_runs_nothing():
    seen: list[str] = []
    root = Greeting.build(name="Ada", seen=seen)
    assert isinstance(root, Node)
    assert root.taskname == "Greeting"
    assert root.kind is NodeKind.PROCESS
    assert root.status is NodeStatus.NEW
    assert root.ready is False
    assert seen == []
    assert sorted(n.taskname for n in steps(root)) == ["Greeting.goodbye", "Greeting.hello"]


def test_run_returns_the_root_with_every_result_by_step_name():
    seen: list[str] = []
    root = Greeting.run(name="Ada", seen=seen)
    assert root.ready is True
    assert root.status is NodeStatus.READY
    assert seen == ["hello Ada", "goodbye Ada"]
    assert root.ref == {"Greeting.hello": "hello Ada", "Greeting.goodbye": "goodbye Ada"}


def test_a_built_root_runs_with_node_run():
    seen: list[str] = []
    root = Greeting.build(name="Ada", seen=seen)
    assert root.run(threads=2) is root
    assert root.ready
    assert seen == ["hello Ada", "goodbye Ada"]


def test_running_a_root_again_builds_it_afresh_and_runs_every_step_again():
    seen: list[str] = []
    root = Greeting.build(name="Ada", seen=seen)
    first = root.run()
    second = root.run()
    assert first is root
    assert second is not root
    assert second.ready
    assert seen == ["hello Ada", "goodbye Ada"] * 2


def test_a_step_result_is_the_ref_of_its_node():
    root = Greeting.run(name="Ada", seen=[])
    by_name = {n.taskname: n for n in steps(root)}
    assert by_name["Greeting.hello"].ref == "hello Ada"
    assert by_name["Greeting.hello"].ready


def test_identifier_and_description_name_the_root():
    class Described(Greeting):
        description = "Say hello and goodbye"

    assert Greeting.build("run-7", name="x", seen=[]).taskname == "Greeting [run-7]"
    assert Described.build(name="x", seen=[]).taskname == "Say hello and goodbye"
    assert Described.build("7", name="x", seen=[]).taskname == "Say hello and goodbye [7]"


def test_threads_must_be_at_least_one():
    with pytest.raises(ArgumentError, match="threads must be an integer >= 1, got 0"):
        Greeting.run(threads=0, name="x", seen=[])


def test_dry_run_runs_no_step(logs):
    seen: list[str] = []
    root = Greeting.run(dry_run=True, name="Ada", seen=seen)
    assert seen == []
    assert root.ready is False
    assert "INFO Greeting.hello: SKIPPING (DRY RUN)" in logs


def test_define_process_is_required():
    class Nothing(ProcessDefinition):
        pass

    with pytest.raises(NotImplementedError, match="Nothing must implement define_process"):
        Nothing.build()


def test_a_process_without_steps_is_ready_once_run():
    class Empty(ProcessDefinition):
        def define_process(self, builder):
            pass

    root = Empty.run()
    assert root.ready
    assert root.ref == {}


# Execution modes


def test_sequential_steps_run_one_after_another_even_with_many_threads():
    class Chain(Recorder):
        def define_process(self, builder):
            for _ in range(5):
                builder.task(self.step)

        def step(self, seen, context):
            # Each step checks that the one before it has finished.
            assert len(seen) == len(context.results)
            return self.record(context.step, seen)

    seen: list[str] = []
    root = Chain.run(threads=4, seen=seen)
    assert root.ready
    assert seen == ["Chain.step", *(f"Chain.step #{n}" for n in range(2, 6))]


def test_concurrent_steps_run_at_the_same_time():
    meeting = barrier(3)

    class Together(Recorder):
        process_execution_mode = CONCURRENT

        def define_process(self, builder):
            builder.task(self.one)
            builder.task(self.two)
            builder.task(self.three)

        def one(self, seen):
            meeting.wait()
            return self.record("one", seen)

        def two(self, seen):
            meeting.wait()
            return self.record("two", seen)

        def three(self, seen):
            meeting.wait()
            return self.record("three", seen)

    seen: list[str] = []
    root = Together.run(threads=3, seen=seen)
    assert root.ready
    assert sorted(seen) == ["one", "three", "two"]


def test_execution_mode_is_accepted_as_an_alias():
    class Aliased(ProcessDefinition):
        execution_mode = CONCURRENT

        def define_process(self, builder):
            pass

    assert Aliased.build().hooks.plan["mode"] == "concurrent"


def test_an_execution_mode_that_is_not_an_enum_member_is_refused():
    class Wrong(ProcessDefinition):
        process_execution_mode = "concurrent"

        def define_process(self, builder):
            pass

    with pytest.raises(ArgumentError, match="must be an ExecutionMode, got 'concurrent'"):
        Wrong.build()


class Kitchen(Recorder):
    """a; concurrent(b, c, sequential(d, e)); f -- with b, c and d meeting at a barrier."""

    def define_process(self, builder):
        builder.task(self.a)
        with builder.concurrent() as together:
            together.task(self.b)
            together.task(self.c)
            with together.sequential() as in_turn:
                in_turn.task(self.d)
                in_turn.task(self.e)
        builder.task(self.f)

    def a(self, seen):
        return self.record("a", seen)

    def b(self, seen, meeting):
        assert "a" in seen
        meeting.wait()
        return self.record("b", seen)

    def c(self, seen, meeting):
        assert "a" in seen
        meeting.wait()
        return self.record("c", seen)

    def d(self, seen, meeting):
        assert "a" in seen
        meeting.wait()
        return self.record("d", seen)

    def e(self, seen):
        assert "d" in seen
        return self.record("e", seen)

    def f(self, seen):
        assert {"b", "c", "d", "e"} <= set(seen)
        return self.record("f", seen)


def test_a_nested_concurrent_block_waits_for_what_came_before_and_blocks_what_follows():
    seen: list[str] = []
    root = Kitchen.run(threads=4, seen=seen, meeting=barrier(3))
    assert root.ready, [(n.taskname, n.status, n.error) for n in steps(root)]
    assert seen[0] == "a"
    assert seen[-1] == "f"
    assert seen.index("d") < seen.index("e")
    assert sorted(seen) == ["a", "b", "c", "d", "e", "f"]


def test_nested_blocks_compile_to_the_expected_requirements():
    root = Kitchen.build(seen=[], meeting=None)
    requires = {
        n.taskname: sorted(d.taskname for d in n.req or []) for n in steps(root)
    }
    assert requires["Kitchen.a"] == []
    assert requires["Kitchen.b"] == ["Kitchen.a"]
    assert requires["Kitchen.c"] == ["Kitchen.a"]
    assert requires["Kitchen.d"] == ["Kitchen.a"]
    assert requires["Kitchen.e"] == ["Kitchen.d"]
    # f waits for one join node gathering b, c and e.
    (join,) = next(n for n in steps(root) if n.taskname == "Kitchen.f").req
    assert join.kind is NodeKind.JOIN
    assert sorted(d.taskname for d in join.req) == ["Kitchen.b", "Kitchen.c", "Kitchen.e"]


def test_sequential_blocks_in_a_concurrent_process_run_side_by_side():
    class TwoLanes(Recorder):
        process_execution_mode = CONCURRENT

        def define_process(self, builder):
            with builder.sequential() as left:
                left.task(self.left_1)
                left.task(self.left_2)
            with builder.sequential() as right:
                right.task(self.right_1)
                right.task(self.right_2)

        def left_1(self, seen, meeting):
            meeting.wait()
            return self.record("left 1", seen)

        def left_2(self, seen):
            assert "left 1" in seen
            return self.record("left 2", seen)

        def right_1(self, seen, meeting):
            meeting.wait()
            return self.record("right 1", seen)

        def right_2(self, seen):
            assert "right 1" in seen
            return self.record("right 2", seen)

    seen: list[str] = []
    root = TwoLanes.run(threads=2, seen=seen, meeting=barrier(2))
    assert root.ready
    assert seen.index("left 1") < seen.index("left 2")
    assert seen.index("right 1") < seen.index("right 2")


def test_deeply_nested_blocks_keep_their_order_constraints():
    class Deep(Recorder):
        def define_process(self, builder):
            builder.task(self.step, description="start")
            with builder.concurrent() as c1:
                with c1.sequential() as s1:
                    s1.task(self.step, description="s1 first")
                    with s1.concurrent() as c2:
                        c2.task(self.step, description="c2 one")
                        c2.task(self.step, description="c2 two")
                    s1.task(self.step, description="s1 last")
                c1.task(self.step, description="alone")
            builder.task(self.step, description="end")

        def step(self, seen, context):
            return self.record(context.step, seen)

    planned = order(Deep, seen=[])
    seen: list[str] = []
    root = Deep.run(threads=3, seen=seen)
    assert root.ready
    for names in (planned, seen):
        assert names[0] == "start"
        assert names[-1] == "end"
        assert names.index("s1 first") < names.index("c2 one") < names.index("s1 last")
        assert names.index("s1 first") < names.index("c2 two") < names.index("s1 last")
        assert sorted(names) == sorted(
            ["start", "s1 first", "c2 one", "c2 two", "s1 last", "alone", "end"]
        )


# Arguments and context


def test_steps_receive_only_the_arguments_their_signature_accepts():
    received = {}

    class Picky(ProcessDefinition):
        def define_process(self, builder):
            builder.task(self.named)
            builder.task(self.everything)
            builder.task(self.nothing)
            builder.task(self.with_default)
            builder.task(self.keyword_only)

        def named(self, x):
            received["named"] = {"x": x}

        def everything(self, **kwargs):
            received["everything"] = kwargs

        def nothing(self):
            received["nothing"] = {}

        def with_default(self, y, z="default"):
            received["with_default"] = {"y": y, "z": z}

        def keyword_only(self, *, x, missing=None):
            received["keyword_only"] = {"x": x, "missing": missing}

    assert Picky.run(x=1, y=2).ready
    assert received == {
        "named": {"x": 1},
        "everything": {"x": 1, "y": 2},
        "nothing": {},
        "with_default": {"y": 2, "z": "default"},
        "keyword_only": {"x": 1, "missing": None},
    }


def test_a_step_needing_an_argument_the_process_lacks_fails_the_build():
    seen: list[str] = []

    class Needy(Recorder):
        def define_process(self, builder):
            builder.task(self.needs_path)

        def needs_path(self, path, seen):
            seen.append(path)

    with pytest.raises(ArgumentError, match=r"step 'Needy.needs_path' needs argument\(s\) path"):
        Needy.build(seen=seen)
    assert seen == []


def test_context_describes_the_step_and_its_run():
    contexts = []

    class Inspect(ProcessDefinition):
        def define_process(self, builder):
            builder.task(self.look, description="Have a look")

        def look(self, x, context: Context):
            contexts.append((context, context.results))
            return x

    root = Inspect.run("id-1", {"verbose": True}, x=1, y=2)
    assert root.ready
    ((context, results),) = contexts
    assert context.identifier == "id-1"
    assert context.step == "Have a look"
    assert context.description == "Have a look"
    assert context.kwargs == {"x": 1, "y": 2}
    assert context.options == {"verbose": True}
    assert context.attempt == 1
    assert context.cancelled is False
    assert results == {}
    assert context.results == {"Have a look": 1}  # read later: the results so far


def test_a_step_taking_context_and_kwargs_gets_context_once():
    got = {}

    class Both(ProcessDefinition):
        def define_process(self, builder):
            builder.task(self.both)

        def both(self, context, **kwargs):
            got.update(kwargs=kwargs, step=context.step)

    assert Both.run(a=1).ready
    assert got == {"kwargs": {"a": 1}, "step": "Both.both"}


def test_context_log_takes_percent_style_calls(logs):
    class Chatty(ProcessDefinition):
        def define_process(self, builder):
            builder.task(self.talk)

        def talk(self, context):
            context.log.info("%s: %d bottles", context.step, 99)

    assert Chatty.run().ready
    assert "INFO Chatty.talk: 99 bottles" in logs


def test_context_gives_earlier_results_by_method_or_by_name():
    class Sums(ProcessDefinition):
        def define_process(self, builder):
            builder.task(self.first)
            builder.task(self.second, description="Second")
            builder.task(self.total)

        def first(self):
            return 1

        def second(self, context):
            return context.result(self.first) + 1

        def total(self, context):
            return {
                "by method": context.result(self.second),
                "by name": context.result("Second"),
                "all": context.results,
            }

    root = Sums.run()
    assert root.ready
    assert root.ref["Sums.total"] == {
        "by method": 2,
        "by name": 2,
        "all": {"Sums.first": 1, "Second": 2},
    }


def test_context_result_of_a_step_that_has_not_run_raises():
    errors = []

    class Early(ProcessDefinition):
        process_execution_mode = CONCURRENT

        def define_process(self, builder):
            builder.task(self.reader)
            builder.task(self.later)

        def reader(self, context):
            for step in ("nope", self.later):
                try:
                    context.result(step)
                except KeyError as e:
                    errors.append(str(e))

        def later(self):
            return 1

    assert Early.run().ready
    assert len(errors) == 2
    assert "no result for step 'nope'" in errors[0]
    assert "no result yet" in errors[1]


def test_context_result_of_a_method_used_by_several_steps_asks_for_a_name():
    outcome = {}

    class Twice(ProcessDefinition):
        def define_process(self, builder):
            builder.task(self.number)
            builder.task(self.number)
            builder.task(self.read)

        def number(self, context):
            return context.step

        def read(self, context):
            try:
                context.result(self.number)
            except ArgumentError as e:
                outcome["error"] = str(e)
            outcome["second"] = context.result("Twice.number #2")

    assert Twice.run().ready
    assert "used by 2 steps (Twice.number, Twice.number #2); ask for one by name" in (
        outcome["error"]
    )
    assert outcome["second"] == "Twice.number #2"


# Sub-processes


class Parallel(Recorder):
    process_execution_mode = CONCURRENT

    def define_process(self, builder):
        builder.task(self.left)
        builder.task(self.right)

    def left(self, seen, meeting, context):
        assert "before" in seen
        meeting.wait()
        self.record("left", seen)
        return context.step

    def right(self, seen, meeting):
        assert "before" in seen
        meeting.wait()
        return self.record("right", seen)


class Outer(Recorder):
    def define_process(self, builder):
        builder.task(self.before)
        builder.sub_process(Parallel)
        builder.task(self.after)

    def before(self, seen):
        return self.record("before", seen)

    def after(self, seen, context):
        assert {"left", "right"} <= set(seen)
        self.record("after", seen)
        return context.result("Parallel")


def test_a_sub_process_runs_in_its_own_mode_between_its_neighbours():
    seen: list[str] = []
    root = Outer.run(threads=2, seen=seen, meeting=barrier(2))
    assert root.ready
    assert seen[0] == "before"
    assert sorted(seen[1:3]) == ["left", "right"]
    assert seen[3] == "after"


def test_a_sub_process_result_is_its_own_dict_of_results():
    root = Outer.run(threads=2, seen=[], meeting=barrier(2))
    inner = {"Parallel.left": "Parallel.left", "Parallel.right": "right"}
    assert root.ref == {"Outer.before": "before", "Parallel": inner, "Outer.after": inner}


def test_a_sub_process_gets_the_arguments_options_and_identifier_of_its_parent():
    contexts = []

    class Inner(ProcessDefinition):
        def define_process(self, builder):
            builder.expected_arguments(x=int)
            if builder.option("extra", False):
                builder.task(self.look)

        def look(self, x, context):
            contexts.append((x, context.identifier, context.options))

    class Wrapper(ProcessDefinition):
        def define_process(self, builder):
            builder.sub_process(Inner, description="The inner part")

    root = Wrapper.run("job", {"extra": True}, x=3)
    assert root.ready
    assert contexts == [(3, "job", {"extra": True})]
    assert list(root.ref) == ["The inner part"]


def test_the_same_sub_process_twice_gets_unique_names():
    class Once(ProcessDefinition):
        def define_process(self, builder):
            builder.task(self.work)

        def work(self):
            return "done"

    class Repeat(ProcessDefinition):
        def define_process(self, builder):
            builder.sub_process(Once)
            builder.sub_process(Once)

    root = Repeat.run()
    assert root.ref == {"Once": {"Once.work": "done"}, "Once #2": {"Once.work #2": "done"}}


def test_sub_process_needs_a_definition_class():
    class Bad(ProcessDefinition):
        def define_process(self, builder):
            builder.sub_process(Greeting())

    with pytest.raises(ArgumentError, match="sub_process needs a ProcessDefinition subclass"):
        Bad.build()


# Failures


class Breaks(Recorder):
    def define_process(self, builder):
        builder.task(self.one)
        builder.task(self.two)
        builder.task(self.three)

    def one(self, seen):
        return self.record("one", seen)

    def two(self, seen, error):
        self.record("two", seen)
        raise error

    def three(self, seen):
        return self.record("three", seen)


def test_a_failing_step_blocks_the_later_steps_and_the_run_returns(logs):
    seen: list[str] = []
    error = RuntimeError("boom")
    root = Breaks.run(seen=seen, error=error)
    assert root.ready is False
    assert seen == ["one", "two"]
    status = {n.taskname: n.status for n in steps(root)}
    assert status == {
        "Breaks.one": NodeStatus.READY,
        "Breaks.two": NodeStatus.FAILED,
        "Breaks.three": NodeStatus.NOT_READY,
    }
    assert next(n for n in steps(root) if n.taskname == "Breaks.two").error is error
    assert "ERROR Breaks.two: Task failed: boom" in logs
    assert "WARNING Breaks.three: ✖ Breaks.two" in logs
    assert root.ref is None


def test_non_retryable_process_error_fails_the_step_at_once():
    seen: list[str] = []
    error = NonRetryableProcessError("give up")
    root = Breaks.run(seen=seen, error=error)
    assert not root.ready
    assert seen == ["one", "two"]
    failed = next(n for n in steps(root) if n.taskname == "Breaks.two")
    assert failed.status is NodeStatus.FAILED
    assert failed.error is error
    assert isinstance(error, TasktronautError)


def test_a_failure_in_a_concurrent_block_lets_the_siblings_run_but_not_what_follows():
    class Siblings(Recorder):
        def define_process(self, builder):
            with builder.concurrent() as block:
                block.task(self.fails)
                block.task(self.works)
                block.task(self.also_works)
            builder.task(self.after)

        def fails(self, seen):
            self.record("fails", seen)
            raise ValueError("broken")

        def works(self, seen):
            return self.record("works", seen)

        def also_works(self, seen):
            return self.record("also works", seen)

        def after(self, seen):
            return self.record("after", seen)

    for threads in (1, 3):
        seen: list[str] = []
        root = Siblings.run(threads=threads, seen=seen)
        assert not root.ready
        assert sorted(seen) == ["also works", "fails", "works"]


# Logging and graph output


def test_a_run_logs_steps_and_the_default_hooks(logs):
    assert Kitchen.run(seen=[], meeting=barrier(1)).ready
    assert "INFO Kitchen.a: Executing" in logs
    assert "INFO Kitchen.a: Ready" in logs
    assert "INFO Kitchen: Started" in logs
    assert "INFO Kitchen: Completed" in logs
    assert logs.index("INFO Kitchen: Completed") < logs.index("INFO Kitchen: Ready")
    assert not [line for line in logs if "join" in line and not line.startswith("DEBUG")]


def test_join_nodes_are_never_logged_not_even_at_debug_level(logs):
    assert Kitchen.run(seen=[], meeting=barrier(1)).ready
    assert any(line.startswith("DEBUG Kitchen.a: Task completed") for line in logs)
    assert [line for line in logs if "join" in line] == []


def test_the_dot_graph_shows_every_step_and_the_process():
    dot = Kitchen.build(seen=[], meeting=None).graph
    assert dot.startswith("digraph g {")
    for name in ("Kitchen", "Kitchen.a", "Kitchen.b", "Kitchen.c", "Kitchen.d", "Kitchen.e",
                 "Kitchen.f"):
        assert f'label="{name}"' in dot
    assert "join" not in dot
    assert "shape=point" not in dot
