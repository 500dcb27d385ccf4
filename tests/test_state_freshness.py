"""Freshness triggers on a small tea workflow: make's rule ("newer") and input fingerprints
("changed"); the default stays iotaa's (ready when the assets are)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tasktronaut import ArgumentError, Asset, Builder, ProcessDefinition, task
from tasktronaut.engine import why
from tasktronaut.state import MemoryStore

RAN: list[str] = []


def _make(name: str, path: Path, reqs: list, text: str = "") -> object:
    yield name
    yield Asset(path, path.is_file)
    yield reqs
    RAN.append(name)
    path.write_text(text or name)


@task
def tea_bag(folder: Path):
    yield from _make("Tea bag", folder / "tea-bag", [], (folder / "kind").read_text())


@task(stale_if="newer")
def water(folder: Path):
    yield from _make("Water", folder / "water", [tea_bag(folder)])


@task(stale_if="newer")
def sugar(folder: Path):
    yield from _make("Sugar", folder / "sugar", [water(folder)])


@task(stale_if="changed")
def water_c(folder: Path):
    yield from _make("Water", folder / "water", [tea_bag(folder)],
                     "water on " + (folder / "tea-bag").read_text()
                     if (folder / "tea-bag").exists() else "water")


@task(stale_if="changed")
def sugar_c(folder: Path, spoons: int = 1):
    yield from _make("Sugar", folder / "sugar", [water_c(folder)], "sugar" * spoons)


@task
def plain_sugar(folder: Path):
    yield from _make("Sugar", folder / "sugar", [water_c(folder)])


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    RAN.clear()
    (tmp_path / "kind").write_text("green")
    return tmp_path


def _later(path: Path, seconds: float = 10) -> None:
    stat = path.stat()
    os.utime(path, (stat.st_atime + seconds, stat.st_mtime + seconds))


def test_newer_redoes_what_is_older_than_its_requirements(folder):
    assert sugar.build(folder).run().ready
    assert RAN == ["Tea bag", "Water", "Sugar"]
    RAN.clear()
    assert sugar.build(folder).run().ready
    assert RAN == []
    _later(folder / "tea-bag")  # a new tea bag: water and sugar must be redone
    assert why(sugar.build(folder)) == [
        f"Water: Not ready: stale (newer): {folder / 'water'} is older than "
        f"{folder / 'tea-bag'}",
        "Sugar: Not ready: stale (newer): requirement Water is not ready",
        "Sugar: Requires:",
        "Sugar: ✖ Water",
    ]
    assert sugar.build(folder).run().ready
    assert RAN == ["Water", "Sugar"]


def test_without_a_trigger_an_older_asset_is_still_ready(folder):
    assert plain_sugar.build(folder).run().ready
    RAN.clear()
    _later(folder / "water")
    assert plain_sugar.build(folder).run().ready
    assert RAN == []


def test_changed_redoes_what_has_other_inputs_than_when_it_was_done(folder):
    store = MemoryStore()
    assert sugar_c.build(folder).run(state=store).ready
    assert RAN == ["Tea bag", "Water", "Sugar"]
    RAN.clear()
    assert sugar_c.build(folder).run(state=store).ready
    assert RAN == []
    (folder / "tea-bag").write_text("black")  # the same file, other content
    assert why(sugar_c.build(folder), state=store)[:2] == [
        "Water: Not ready: stale (changed): its inputs changed since it was done",
        "Sugar: Not ready: stale (changed): requirement Water is not ready",
    ]
    assert sugar_c.build(folder).run(state=store).ready
    assert RAN == ["Water", "Sugar"]
    assert (folder / "water").read_text() == "water on black"
    RAN.clear()
    assert sugar_c.build(folder, spoons=2).run(state=store).ready  # other arguments
    assert RAN == ["Sugar"]


def test_changed_without_a_store_goes_by_the_assets(folder):
    assert sugar_c.build(folder).run().ready
    RAN.clear()
    (folder / "tea-bag").write_text("black")
    assert sugar_c.build(folder).run().ready
    assert RAN == []


def test_changed_without_a_recorded_fingerprint_runs_once_to_record_it(folder):
    assert sugar_c.build(folder).run().ready  # no store: nothing recorded
    RAN.clear()
    store = MemoryStore()
    assert sugar_c.build(folder).run(state=store).ready
    assert RAN == ["Water", "Sugar"]
    RAN.clear()
    assert sugar_c.build(folder).run(state=store).ready
    assert RAN == []


def test_an_unknown_trigger_is_refused():
    with pytest.raises(ArgumentError, match="stale_if must be 'newer' or 'changed', got 'old'"):
        task(stale_if="old")


class Brew(ProcessDefinition):
    """Steps with declared assets: the second is redone when the first's file is newer."""

    def define_process(self, builder: Builder) -> None:
        builder.task(self.boil, asset=lambda folder: Asset(folder / "kettle",
                                                           (folder / "kettle").is_file))
        builder.task(self.pour, asset=lambda folder: Asset(folder / "pot",
                                                           (folder / "pot").is_file),
                     stale_if="newer")

    def boil(self, folder: Path) -> None:
        RAN.append("boil")
        (folder / "kettle").write_text("hot")

    def pour(self, folder: Path) -> None:
        RAN.append("pour")
        (folder / "pot").write_text("tea")


def test_newer_works_for_steps_with_declared_assets(folder):
    assert Brew.build(folder=folder).run().ready
    assert RAN == ["boil", "pour"]
    RAN.clear()
    assert Brew.build(folder=folder).run().ready
    assert RAN == []
    _later(folder / "kettle")
    assert Brew.build(folder=folder).run().ready
    assert RAN == ["pour"]
