"""Process steps with declared assets, and cached results."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasktronaut import ArgumentError, Asset, NodeStatus, ProcessDefinition, task
from tasktronaut.model import traverse
from tasktronaut.state import MemoryStore


class Render(ProcessDefinition):
    """Download, render to a file (a declared asset), publish."""

    def define_process(self, builder):
        builder.expected_arguments(out=str)
        builder.task(self.download)
        builder.task(self.render, asset=lambda out: Asset(Path(out), Path(out).exists))
        builder.task(self.publish)

    def _log(self, out: str, what: str) -> None:
        with open(Path(out).with_suffix(".log"), "a") as f:
            f.write(what + "\n")

    def download(self, out: str) -> None:
        self._log(out, "download")

    def render(self, out: str) -> str:
        self._log(out, "render")
        Path(out).write_text("picture")
        return "rendered"

    def publish(self, out: str) -> None:
        self._log(out, "publish")


def _log(out: Path) -> list[str]:
    return out.with_suffix(".log").read_text().split()


def test_a_step_with_a_declared_asset_is_ready_exactly_when_its_asset_is(tmp_path):
    out = tmp_path / "picture.png"
    assert Render.run(out=str(out)).ready
    assert Render.run(out=str(out)).ready
    assert _log(out) == ["download", "render", "publish", "download", "publish"]
    out.unlink()
    assert Render.run(out=str(out)).ready
    assert _log(out)[-3:] == ["download", "render", "publish"]


def test_a_declared_asset_the_step_does_not_make_leaves_it_not_ready(tmp_path):
    class Broken(Render):
        def render(self, out: str) -> str:
            return "forgot the file"

    out = tmp_path / "picture.png"
    root = Broken.run(out=str(out))
    assert not root.ready
    statuses = {n.taskname: n.status for n in traverse(root)}
    assert statuses["Broken.render"] is NodeStatus.NOT_READY
    assert "Broken.publish" in statuses
    assert statuses["Broken.publish"] is NodeStatus.NOT_READY


class Expensive(ProcessDefinition):
    calls: int = 0

    def define_process(self, builder):
        builder.task(self.compute)

    @task(cache_key=lambda n: f"square-{n}")
    def compute(self, n: int) -> int:
        Expensive.calls += 1
        return n * n


def test_a_cached_result_is_served_instead_of_running_the_step_again():
    store = MemoryStore()
    first = Expensive.build("a", n=7).run(state=store)
    second = Expensive.build("b", n=7).run(state=store)
    third = Expensive.build("c", n=8).run(state=store)
    assert first.ref == second.ref == {"Expensive.compute": 49}
    assert third.ref == {"Expensive.compute": 64}
    assert Expensive.calls == 2


def test_a_cached_result_older_than_its_ttl_is_not_used(monkeypatch):
    class Short(ProcessDefinition):
        calls = 0

        def define_process(self, builder):
            builder.task(self.compute, cache_key=lambda: "k", cache_ttl=60)

        def compute(self) -> int:
            Short.calls += 1
            return Short.calls

    store = MemoryStore()
    Short.build("a").run(state=store)
    import tasktronaut.define.steps as process

    real = process.time.time
    monkeypatch.setattr(process.time, "time", lambda: real() + 3600)
    assert Short.build("b").run(state=store).ref == {"Short.compute": 2}


def test_a_result_that_cannot_be_stored_fails_the_step_naming_it(tmp_path):
    class Unstorable(ProcessDefinition):
        def define_process(self, builder):
            builder.task(self.make, cache_key=lambda: "k")

        def make(self) -> object:
            return object()

    root = Unstorable.build("u").run(state=tmp_path / "state.db")
    assert not root.ready
    error = next(n for n in traverse(root) if n.taskname == "Unstorable.make").error
    assert "step 'Unstorable.make'" in str(error)


def test_asset_and_cache_options_are_for_process_steps_only():
    with pytest.raises(ArgumentError, match="applies to process steps"):

        @task(asset=lambda: None)
        def generator_task():
            yield "x"
            yield None
            yield None
