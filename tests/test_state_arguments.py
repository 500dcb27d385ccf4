"""Records belong to an identifier and the arguments they were made with."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from tasktronaut import ArgumentError, Builder, ProcessDefinition
from tasktronaut.cli import cli
from tasktronaut.state import MemoryStore, SQLiteStore

RAN: list[int] = []


class Limited(ProcessDefinition):
    def define_process(self, builder: Builder) -> None:
        builder.expected_arguments(limit=int)
        builder.task(self.count)

    def count(self, limit: int) -> list[int]:
        RAN.append(limit)
        return list(range(limit))


@pytest.fixture(autouse=True)
def _clear() -> None:
    RAN.clear()


def test_resuming_with_other_arguments_is_refused_naming_them(tmp_path):
    state = tmp_path / "s.db"
    Limited.build("d1", limit=3).run(state=state)
    with pytest.raises(ArgumentError) as caught:
        Limited.build("d1", limit=1).run(state=state)
    assert str(caught.value) == (
        "Limited [d1]: the records of 'd1' were made with other arguments: limit=3 (now 1). "
        "Start over with --restart (run(restart=True)), or forget them: "
        "tasktronaut state forget d1")
    assert RAN == [3]


def test_options_count_as_arguments(tmp_path):
    store = MemoryStore()
    Limited.build("d1", {"fast": True}, limit=3).run(state=store)
    with pytest.raises(ArgumentError, match=r"option fast=true \(now false\)"):
        Limited.build("d1", {"fast": False}, limit=3).run(state=store)


def test_restart_starts_over_with_the_new_arguments(tmp_path):
    state = tmp_path / "s.db"
    Limited.build("d1", limit=3).run(state=state)
    root = Limited.build("d1", limit=1).run(state=state, restart=True)
    assert root.ref == {"Limited.count": [0]}
    again = Limited.build("d1", limit=1).run(state=state)
    assert again.ref == {"Limited.count": [0]}
    assert RAN == [3, 1]


def test_forgetting_the_identifier_allows_other_arguments(tmp_path):
    state = tmp_path / "s.db"
    Limited.build("d1", limit=3).run(state=state)
    with SQLiteStore(state) as store:
        store.forget("d1")
    assert Limited.build("d1", limit=1).run(state=state).ref == {"Limited.count": [0]}


def test_a_dry_run_with_restart_changes_nothing(tmp_path):
    state = tmp_path / "s.db"
    Limited.build("d1", limit=3).run(state=state)
    Limited.build("d1", limit=1).run(state=state, restart=True, dry_run=True)
    with SQLiteStore(state) as store:
        assert store.completed("d1")["Limited.count"] == [0, 1, 2]
        assert store.arguments("d1") == {"limit": "3"}


def test_restart_needs_a_store():
    with pytest.raises(ArgumentError, match="restart needs a state store"):
        Limited.build("d1", limit=3).run(restart=True)


FLOW = '''
from tasktronaut import ProcessDefinition

class Limited(ProcessDefinition):
    def define_process(self, builder):
        builder.expected_arguments(limit=int)
        builder.task(self.count)

    def count(self, limit: int):
        return list(range(limit))
'''


def test_the_command_line_refuses_other_arguments_with_exit_2_and_restarts(tmp_path,
                                                                           monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "flow.py").write_text(FLOW)
    runner = CliRunner()
    args = ["run", "flow.py:Limited", "--id", "d1", "--resume", "--arg"]
    assert runner.invoke(cli, [*args, "limit=3"]).exit_code == 0
    refused = runner.invoke(cli, [*args, "limit=1"])
    assert refused.exit_code == 2
    errors = [line for line in refused.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1
    assert "limit=3 (now 1)" in errors[0]
    assert "Traceback" not in refused.output
    restarted = runner.invoke(cli, [*args, "limit=1", "--restart"])
    assert restarted.exit_code == 0, restarted.output
    shown = runner.invoke(cli, ["state", "show", "d1"])
    assert "Limited.count: [0]" in shown.output
