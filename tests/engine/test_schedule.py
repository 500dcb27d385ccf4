"""The schedule as a pure state machine: no threads, no clock, no actions."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tasktronaut import ProcessDefinition
from tasktronaut.engine.schedule import Schedule, predicted_order
from tasktronaut.model import Node, NodeStatus, TaskOptions
from tasktronaut.testing import order


def graph(edges: dict[str, list[str]], **priorities: int) -> list[Node]:
    """Nodes named by ``edges`` (name -> requirements), requirements first."""
    nodes: dict[str, Node] = {}
    for name in edges:
        options = TaskOptions(priority=priorities[name]) if name in priorities else None
        nodes[name] = Node(name, **({"options": options} if options else {}))
    for name, reqs in edges.items():
        nodes[name]._deps = tuple(nodes[r] for r in reqs)
    return list(nodes.values())


def drain(schedule: Schedule) -> list[str]:
    out = []
    while (node := schedule.pop()) is not None:
        out.append(node.taskname)
        schedule.release(node)
    return out


def test_nodes_start_once_their_requirements_are_released():
    nodes = graph({"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]})
    schedule = Schedule(nodes)
    assert schedule.pop().taskname == "a"
    assert schedule.pop() is None  # b and c wait for a
    schedule.release(nodes[0])
    assert [schedule.pop().taskname, schedule.pop().taskname] == ["b", "c"]
    schedule.release(nodes[1])
    assert schedule.pop() is None  # d still waits for c
    schedule.release(nodes[2])
    assert schedule.pop().taskname == "d"


def test_nodes_ready_when_built_are_never_scheduled():
    nodes = graph({"a": [], "b": ["a"]})
    nodes[0].status = NodeStatus.ALREADY_READY
    schedule = Schedule(nodes)
    assert schedule.remaining == 1
    assert drain(schedule) == ["b"]


def test_higher_priorities_start_first_and_ties_keep_definition_order():
    nodes = graph({"a": [], "b": [], "c": [], "d": [], "e": ["a", "b", "c", "d"]},
                  c=5, d=5, a=-1)
    assert drain(Schedule(nodes)) == ["c", "d", "b", "a", "e"]


def test_retries_wait_for_their_time_then_go_first():
    nodes = graph({"a": [], "b": []})
    schedule = Schedule(nodes)
    a = schedule.pop()
    schedule.delay(a, due=10.0)
    assert schedule.next_due() == 10.0
    schedule.requeue_due(now=9.0)
    assert schedule.pop().taskname == "b"
    schedule.requeue_due(now=10.0)
    assert schedule.pop() is a
    assert schedule.next_due() is None


def test_stopping_drops_waiting_retries():
    nodes = graph({"a": []})
    schedule = Schedule(nodes)
    a = schedule.pop()
    schedule.delay(a, due=5.0)
    assert schedule.drop_delayed() == [a]
    assert schedule.waiting == []


def test_testing_order_comes_from_the_engines_schedule():
    class Prioritised(ProcessDefinition):
        from tasktronaut import ExecutionMode

        process_execution_mode = ExecutionMode.CONCURRENT

        def define_process(self, builder):
            builder.task(self.low)
            builder.task(self.high, priority=10)
            builder.task(self.middle, priority=5)

        def low(self): ...
        def high(self): ...
        def middle(self): ...

    assert order(Prioritised) == ["Prioritised.high", "Prioritised.middle", "Prioritised.low"]


@st.composite
def dags(draw):
    """A random DAG: node i may require any of the nodes before it."""
    n = draw(st.integers(min_value=1, max_value=40))
    edges = {}
    for i in range(n):
        reqs = draw(st.lists(st.integers(min_value=0, max_value=max(i - 1, 0)), max_size=4,
                             unique=True)) if i else []
        edges[f"n{i}"] = [f"n{r}" for r in reqs]
    ready = draw(st.sets(st.sampled_from(sorted(edges)), max_size=n // 3))
    priorities = draw(st.dictionaries(st.sampled_from(sorted(edges)), st.integers(-3, 3)))
    return edges, ready, priorities


@settings(max_examples=150, deadline=None)
@given(dags(), st.randoms(use_true_random=False))
def test_every_node_is_released_exactly_once_after_its_requirements(case, rng):
    edges, ready, priorities = case
    nodes = graph(edges, **priorities)
    by_name = {n.taskname: n for n in nodes}
    for name in ready:
        by_name[name].status = NodeStatus.ALREADY_READY
    schedule = Schedule(nodes)
    started: list[str] = []
    in_flight: list[Node] = []
    while True:
        while (node := schedule.pop()) is not None:
            in_flight.append(node)
        if not in_flight:
            break
        node = in_flight.pop(rng.randrange(len(in_flight)))  # outcomes in any order
        if rng.random() < 0.2 and node.attempt < 3:  # some attempts are retried
            node.attempt += 1
            schedule.delay(node, due=0.0)
            schedule.requeue_due(now=0.0)
            continue
        started.append(node.taskname)
        for dep in edges[node.taskname]:
            assert dep in ready or dep in started[:-1], f"{node.taskname} before {dep}"
        schedule.release(node)
    expected = sorted(n for n in edges if n not in ready)
    assert sorted(started) == expected  # each exactly once
    assert schedule.remaining == 0


@settings(max_examples=60, deadline=None)
@given(dags())
def test_the_predicted_order_respects_every_requirement(case):
    edges, _ready, priorities = case
    nodes = graph(edges, **priorities)
    names = [n.taskname for n in predicted_order(nodes)]
    assert sorted(names) == sorted(edges)
    for name in names:
        for dep in edges[name]:
            assert names.index(dep) < names.index(name)
