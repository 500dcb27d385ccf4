"""Stable step identities: records are keyed by where a step sits in the process tree and by
the content (or key) of its ``each`` item, never by build order."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasktronaut import ArgumentError, Builder, ProcessDefinition
from tasktronaut import testing as helpers
from tasktronaut.state import MemoryStore, SQLiteStore

RAN: list[str] = []


def _items(folder: Path, *names: str) -> str:
    """Items come from a file in ``folder``: they change while the arguments stay the same."""
    (folder / "items.txt").write_text(" ".join(names))
    return str(folder)


class Child(ProcessDefinition):
    def define_process(self, builder: Builder) -> None:
        builder.task(self.work)

    def work(self, item: str) -> str:
        RAN.append(item)
        return f"done {item}"


class PerItem(ProcessDefinition):
    """A sub-process per item (the case that used to take the result of another item)."""

    def define_process(self, builder: Builder) -> None:
        for item in builder.each(self.items):
            item.sub_process(Child)

    def items(self, folder: str):
        for name in (Path(folder) / "items.txt").read_text().split():
            yield {"item": name}


class Steps(ProcessDefinition):
    """A step per item, in a concurrent block."""

    def define_process(self, builder: Builder) -> None:
        with builder.concurrent() as block:
            for item in block.each(self.items):
                item.task(self.work)

    def items(self, folder: str):
        for name in (Path(folder) / "items.txt").read_text().split():
            yield {"item": name}

    def work(self, item: str) -> str:
        RAN.append(item)
        return f"done {item}"


@pytest.fixture(autouse=True)
def _clear() -> None:
    RAN.clear()


def test_inserting_an_item_before_others_runs_it_and_keeps_each_result_with_its_item(tmp_path):
    state = tmp_path / "state.db"
    assert PerItem.build("d1", folder=_items(tmp_path, "a", "b")).run(state=state).ready
    root = PerItem.build("d1", folder=_items(tmp_path, "c", "a", "b")).run(state=state)
    assert root.ready
    assert RAN == ["a", "b", "c"]
    assert root.ref == {
        "Child": {"Child.work": "done c"},
        "Child #2": {"Child.work #2": "done a"},
        "Child #3": {"Child.work #3": "done b"},
    }


def test_reordering_and_removing_items_reruns_nothing(tmp_path):
    state = tmp_path / "state.db"
    Steps.build("d2", folder=_items(tmp_path, "a", "b", "c")).run(state=state)
    root = Steps.build("d2", folder=_items(tmp_path, "c", "a")).run(state=state)
    assert RAN == ["a", "b", "c"]
    assert root.ref == {"Steps.work(item='c')": "done c", "Steps.work(item='a')": "done a"}


def test_records_are_keyed_by_path_and_item_content(tmp_path):
    store = MemoryStore()
    PerItem.build("d3", folder=_items(tmp_path, "a")).run(state=store)
    Steps.build("d4", folder=_items(tmp_path, "a")).run(state=store)
    assert list(store.completed("d3")) == ['{"item":"a"} / Child / Child.work',
                                           '{"item":"a"} / Child', "PerItem"]
    assert list(store.completed("d4")) == ['{"item":"a"} / Steps.work', "Steps"]


class Keyed(ProcessDefinition):
    """Items keyed by the user: by a third element, or by ``each(key=...)``."""

    def define_process(self, builder: Builder) -> None:
        for item in builder.each(self.triples):
            item.task(self.work, description="triple")
        for item in builder.each(self.plain, key="item"):
            item.task(self.work, description="by field")
        for item in builder.each(self.plain, key=lambda item: item.upper()):
            item.task(self.work, description="by function")

    def triples(self, names: list[str], version: int):
        for name in names:
            yield {"item": name, "version": version}, f"Loading {name}", name

    def plain(self, names: list[str], version: int):
        for name in names:
            yield {"item": name, "version": version}

    def work(self, item: str) -> str:
        RAN.append(item)
        return item


def test_user_keys_identify_items_whatever_else_they_carry(tmp_path):
    store = MemoryStore()
    Keyed.build("k", names=["a"], version=1).run(state=store)
    assert set(store.completed("k")) == {'"a" / triple', '"a" / by field',
                                         '"A" / by function', "Keyed"}


def test_an_each_key_that_is_not_a_field_is_refused():
    class Bad(Keyed):
        def define_process(self, builder: Builder) -> None:
            for item in builder.each(self.plain, key="nope"):
                item.task(self.work)

    with pytest.raises(ArgumentError, match="key='nope' is not a field of the item"):
        Bad.build("k", names=["a"], version=1)


class Twice(ProcessDefinition):
    """The same sub-process twice in one block: told apart by order, as nothing else differs."""

    def define_process(self, builder: Builder) -> None:
        builder.sub_process(Child)
        builder.sub_process(Child, description="Other")
        builder.sub_process(Child)


def test_sub_processes_are_keyed_by_the_path_that_reaches_them(tmp_path):
    store = MemoryStore()
    Twice.build("t", item="x").run(state=store)
    assert list(store.completed("t")) == [
        "Child / Child.work", "Child", "Other / Child.work", "Other",
        "Child #2 / Child.work", "Child #2", "Twice",
    ]


def test_a_long_item_is_keyed_by_a_digest(tmp_path):
    store = SQLiteStore(tmp_path / "s.db")
    with store:
        Steps.build("long", folder=_items(tmp_path, "x" * 300)).run(state=store)
        keys = list(store.completed("long"))
    assert keys[0].startswith("#")
    assert keys[0].endswith(" / Steps.work")
    assert len(keys[0]) < 40


def test_paths_are_json_for_items_with_dates_and_paths(tmp_path):
    from tasktronaut.state.fingerprint import canonical

    assert canonical({"p": Path("/a/b"), "b": (1, 2)}) == '{"b":[1,2],"p":"/a/b"}'


def test_objects_shown_with_an_address_are_keyed_by_their_type():
    from tasktronaut.state.fingerprint import canonical

    class Thing:
        pass

    assert canonical({"t": Thing()}) == canonical({"t": Thing()})
    assert "Thing" in canonical({"t": Thing()})


class Alike(ProcessDefinition):
    """Steps whose record keys collide, around a sub-process (its key is claimed while the
    process is built), and items from a function that reuses one dict."""

    def define_process(self, builder: Builder) -> None:
        builder.task(self.work)
        builder.sub_process(Child)
        builder.task(self.work)
        for item in builder.each(self.same):
            item.task(self.work)

    def same(self):
        item: dict[str, str] = {}
        for name in ("a", "a", "b"):
            item["item"] = name
            yield item

    def work(self, item: str) -> str:
        RAN.append(item)
        return item


ALIKE_KEYS = ["Alike.work", "Child / Child.work", "Child", "Alike.work #2",
              '{"item":"a"} / Alike.work', '{"item":"a"} / Alike.work #2',
              '{"item":"b"} / Alike.work', "Alike"]


def test_identical_record_keys_are_numbered_in_build_order():
    store = MemoryStore()
    Alike.build("same", item="x").run(state=store)
    assert list(store.completed("same")) == ALIKE_KEYS


def test_record_keys_are_the_same_whenever_they_are_first_asked_for():
    asked_first = Alike.build("same", item="x")
    keys = {n.taskname: n.hooks.key for n in helpers.steps(asked_first)}
    store = MemoryStore()
    ran_first = Alike.build("same", item="x").run(state=store)
    assert {n.taskname: n.hooks.key for n in helpers.steps(ran_first)} == keys
    assert sorted(keys.values()) == sorted(k for k in ALIKE_KEYS if k not in ("Alike", "Child"))
    assert sorted(asked_first.hooks.keys) == ["Alike.work", "Alike.work #2", "Child",
                                               '{"item":"a"} / Alike.work',
                                               '{"item":"a"} / Alike.work #2',
                                               '{"item":"b"} / Alike.work']
