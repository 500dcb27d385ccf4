"""Identity by name, pruning of ready subgraphs, and idempotent re-runs."""

from tasktronaut import Asset, collection, task


def test_same_name_runs_once_and_every_caller_sees_its_assets():
    runs = []
    seen = {}

    @task
    def shared():
        box = []
        yield "shared"
        yield Asset(box, lambda: bool(box))
        yield None
        runs.append("shared")
        box.append(42)

    @task
    def user(tag):
        out = []
        yield f"user {tag}"
        yield Asset(out, lambda: bool(out))
        requirement = shared()
        yield requirement
        seen[tag] = requirement.ref[0]
        out.append(tag)

    @collection
    def both():
        yield "both"
        yield [user("a"), user("b")]

    node = both()
    assert runs == ["shared"]
    assert seen == {"a": 42, "b": 42}
    assert node.ready


def test_ready_task_never_runs_and_its_requirements_are_not_constructed(tmp_path):
    constructed = []
    ran = []

    @task
    def expensive():
        constructed.append("expensive")
        yield "expensive"
        yield Asset(None, lambda: False)
        yield None
        ran.append("expensive")

    @task
    def product(path):
        yield "product"
        yield Asset(path, path.is_file)
        yield expensive()
        ran.append("product")

    @collection
    def everything():
        yield "everything"
        yield [product(tmp_path / "product")]

    (tmp_path / "product").touch()
    assert everything().ready
    assert constructed == []
    assert ran == []


def test_second_root_call_runs_nothing(tmp_path):
    ran = []

    @task
    def make(path, after=None):
        yield f"make {path.name}"
        yield Asset(path, path.is_file)
        yield make(after) if after else None
        ran.append(path.name)
        path.touch()

    assert make(tmp_path / "b", tmp_path / "a").ready
    assert ran == ["a", "b"]
    assert make(tmp_path / "b", tmp_path / "a").ready
    assert ran == ["a", "b"]
