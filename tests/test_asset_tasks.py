"""Asset tasks: the yield protocol, node properties and readiness-driven execution."""

import logging
from pathlib import Path

import pytest

from tasktronaut import Asset, Node, asset, collection, external, ready, ref, req, task


@task
def write(path: Path, text: str):
    yield f"write {path.name}"
    yield Asset(path, path.is_file)
    yield None
    path.write_text(text)


@task
def copy(src: Path, dst: Path):
    yield f"copy {src.name} -> {dst.name}"
    yield Asset(dst, dst.is_file)
    source = write(src, "hello")
    yield source
    dst.write_text(source.ref.read_text())


@external
def upstream(path: Path):
    yield f"upstream {path.name}"
    yield Asset(path, path.is_file)


def test_root_call_runs_the_graph_and_returns_the_root_node(tmp_path):
    node = copy(tmp_path / "a", tmp_path / "b")
    assert isinstance(node, Node)
    assert node.taskname == "copy a -> b"
    assert node.ready is True
    assert (tmp_path / "b").read_text() == "hello"
    assert isinstance(node.asset, Asset)
    assert node.asset.ref == tmp_path / "b"
    assert node.ref == tmp_path / "b"
    assert node.req.taskname == "write a"
    assert node.req.ref == tmp_path / "a"


def test_helper_functions_mirror_node_properties(tmp_path):
    node = copy(tmp_path / "a", tmp_path / "b")
    assert ready(node) is True
    assert ref(node) == tmp_path / "b"
    assert asset(node) == node.asset
    assert req(node).taskname == "write a"
    assert ref(node.asset) == tmp_path / "b"
    assert ref([Asset(1, lambda: True), Asset(2, lambda: True)]) == [1, 2]


@task
def shaped(tmp: Path, shape: str):
    paths = [tmp / "x", tmp / "y"]
    assets = {
        "scalar": Asset(paths[0], paths[0].is_file),
        "list": [Asset(p, p.is_file) for p in paths],
        "dict": {p.name: Asset(p, p.is_file) for p in paths},
    }[shape]
    yield f"shaped {shape}"
    yield assets
    yield None
    for p in paths:
        p.touch()


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ("scalar", lambda t: t / "x"),
        ("list", lambda t: [t / "x", t / "y"]),
        ("dict", lambda t: {"x": t / "x", "y": t / "y"}),
    ],
)
def test_ref_keeps_the_shape_of_the_assets(tmp_path, shape, expected):
    node = shaped(tmp_path, shape)
    assert node.ready
    assert node.ref == expected(tmp_path)
    assert ref(node) == expected(tmp_path)


@pytest.mark.parametrize("shape", ["list", "dict"])
def test_req_keeps_the_shape_of_the_requirements(tmp_path, shape):
    @collection
    def pair():
        yield "pair"
        first, second = write(tmp_path / "1", "one"), write(tmp_path / "2", "two")
        yield [first, second] if shape == "list" else {"first": first, "second": second}

    node = pair()
    assert node.ready
    if shape == "list":
        assert [r.taskname for r in node.req] == ["write 1", "write 2"]
    else:
        assert {k: r.taskname for k, r in node.req.items()} == {
            "first": "write 1",
            "second": "write 2",
        }


def test_build_runs_no_action_and_run_runs_it_afterwards(tmp_path):
    node = copy.build(tmp_path / "a", tmp_path / "b")
    assert isinstance(node, Node)
    assert not node.ready
    assert list(tmp_path.iterdir()) == []
    result = node.run()
    assert result.taskname == "copy a -> b"
    assert result.ready
    assert node.ready
    assert (tmp_path / "b").read_text() == "hello"


def test_action_runs_only_when_all_requirements_are_ready(tmp_path, logs):
    ran = []

    @task
    def fine():
        yield "fine"
        yield Asset(tmp_path / "fine", (tmp_path / "fine").is_file)
        yield None
        ran.append("fine")
        (tmp_path / "fine").touch()

    @task
    def stubborn():
        yield "stubborn"
        yield Asset(None, lambda: False)
        yield None
        ran.append("stubborn")  # runs, but does not make its asset ready

    @task
    def needs_both(path):
        yield "needs both"
        yield Asset(path, path.is_file)
        yield [fine(), stubborn()]
        ran.append("needs both")
        path.touch()

    node = needs_both(tmp_path / "out")
    assert sorted(ran) == ["fine", "stubborn"]
    assert not node.ready
    assert [r.ready for r in node.req] == [True, False]
    assert "WARNING stubborn: Not ready" in logs
    assert "WARNING needs both: ✖ stubborn" in logs


def test_requirements_run_before_the_tasks_that_need_them():
    order = []

    @task
    def step(n):
        yield f"step {n}"
        yield Asset(n, lambda: n in order)
        yield step(n - 1) if n else None
        order.append(n)

    assert step(3).ready
    assert order == [0, 1, 2, 3]


def test_collection_is_ready_iff_all_requirements_are_ready(tmp_path):
    @task
    def make(path, works):
        yield f"make {path.name}"
        yield Asset(path, path.is_file)
        yield None
        if works:
            path.touch()

    @collection
    def both(works):
        yield "both"
        yield [make(tmp_path / "good", True), make(tmp_path / "maybe", works)]

    assert not both(False).ready
    assert (tmp_path / "good").is_file()
    assert both(True).ready


def test_external_never_runs_anything(tmp_path, logs):
    ran = []

    @task
    def consumer(path):
        yield "consumer"
        yield Asset(path, path.is_file)
        yield upstream(tmp_path / "in")
        ran.append("consumer")
        path.touch()

    assert not consumer(tmp_path / "out").ready
    assert ran == []
    assert not (tmp_path / "in").exists()
    assert "WARNING upstream in: Not ready [external asset]" in logs
    (tmp_path / "in").touch()
    assert consumer(tmp_path / "out").ready
    assert ran == ["consumer"]


def test_dry_run_runs_no_action(tmp_path, logs):
    node = copy(tmp_path / "a", tmp_path / "b", dry_run=True)
    assert not node.ready
    assert list(tmp_path.iterdir()) == []
    assert any(line.endswith("write a: SKIPPING (DRY RUN)") for line in logs)
    assert not any("Executing" in line for line in logs)


@pytest.mark.parametrize(
    "reserved",
    [
        {"dry_run": True},
        {"threads": 2},
        {"log": logging.getLogger("tasktronaut-test-reserved")},
        {"processes": 0},
        {"executor": "thread"},
    ],
    ids=["dry_run", "threads", "log", "processes", "executor"],
)
def test_reserved_keywords_are_not_passed_to_the_task_function(reserved):
    received = []

    @task
    def probe(**kwargs):
        received.append(kwargs)
        yield "probe"
        yield Asset(None, lambda: False)
        yield None

    probe(x=1, **reserved)
    assert received
    assert all(kwargs == {"x": 1} for kwargs in received)


def test_long_chain_builds_and_runs_without_recursion_error():
    order: list[int] = []
    finished: set[int] = set()

    @task
    def link(n):
        yield f"link {n}"
        yield Asset(n, lambda: n in finished)
        yield link(n - 1) if n else None
        order.append(n)
        finished.add(n)

    assert link(9_999).ready
    assert order == list(range(10_000))
