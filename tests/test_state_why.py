"""``why``: one reason per node, in iotaa's readiness-line shape; nothing runs."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from tasktronaut import Builder, ProcessDefinition
from tasktronaut.cli import cli
from tasktronaut.engine import why
from tests.test_state_force import FLOW, RAN, served

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_why_names_missing_assets_and_the_requirements_waited_for(tmp_path):
    RAN.clear()
    assert why(served.build(tmp_path)) == [
        "Raw: Not ready: asset missing",
        "Cooked: Not ready: asset missing",
        "Cooked: Requires:",
        "Cooked: ✖ Raw",
        "Served: Not ready: asset missing",
        "Served: Requires:",
        "Served: ✖ Cooked",
    ]
    assert RAN == []
    assert list(tmp_path.iterdir()) == []


def test_why_says_ready_and_forced(tmp_path):
    served.build(tmp_path).run()
    assert why(served.build(tmp_path)) == ["Served: Ready"]
    assert why(served.build(tmp_path), force_downstream=["Cooked"]) == [
        "Cooked: Not ready: forced",
        "Served: Not ready: forced (it requires a forced node)",
        "Served: Requires:",
        "Served: ✖ Cooked",
    ]


class Steps(ProcessDefinition):
    def define_process(self, builder: Builder) -> None:
        builder.task(self.first)
        builder.task(self.second, cache_key=lambda: "second")

    def first(self) -> int:
        return 1

    def second(self) -> int:
        if Path("broken").exists():
            raise RuntimeError("broken")
        return 2


def test_why_reads_what_the_store_recorded_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    state = tmp_path / "s.db"
    Steps.build("w").run(state=state)
    before = state.read_bytes()
    assert why(Steps.build("w"), state=state) == [
        "Steps.first: Ready: recorded as done",
        "Steps.second: Ready: cached result",
        "Steps [w]: Ready: recorded as done",
    ]
    assert state.read_bytes() == before
    assert why(Steps.build("w2"), state=state)[:2] == [
        "Steps.first: Not ready: not recorded as done",
        "Steps.second: Ready: cached result",
    ]


def test_the_command_line_prints_the_reasons_on_stdout(tmp_path):
    (tmp_path / "flow.py").write_text(FLOW)
    result = CliRunner().invoke(cli, ["why", f"{tmp_path / 'flow.py'}:served", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "Raw: Not ready: asset missing"
    assert not (tmp_path / "raw").exists()


def test_why_on_the_tea_demo_names_the_external_box(tmp_path):
    result = CliRunner().invoke(cli, ["why", f"{EXAMPLES / 'teatime.py'}:a_cup_of_tea",
                                      str(tmp_path)])
    assert result.exit_code == 0, result.output
    box = f"Box of tea bags ({tmp_path}/box-of-tea-bags)"
    assert f"{box}: Not ready: external asset missing (nothing here can make it)" in \
        result.output.splitlines()
    assert f"Tea bag in cup: ✖ {box}" in result.output.splitlines()
