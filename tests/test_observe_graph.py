"""Graph exports after a run: iotaa's node set, failed apart from blocked, shapes, escaping."""

import importlib
import json
import sys
from pathlib import Path

import pytest

from tasktronaut import Asset, ExecutionMode, ProcessDefinition, collection, external, task
from tasktronaut.model.report import state, to_data, to_dot, to_mermaid

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture
def teatime():
    sys.path.insert(0, str(EXAMPLES))
    try:
        yield importlib.import_module("teatime")
    finally:
        sys.path.remove(str(EXAMPLES))


def _labels(dot: str) -> list[str]:
    return sorted(line.split('label="')[1].split('"')[0] for line in dot.splitlines()
                  if 'label="' in line)


def test_after_the_box_is_bought_the_tea_graph_shows_iotaas_five_nodes(teatime, tmp_path):
    base = str(tmp_path / "tea")
    first = teatime.a_cup_of_tea.build(base).run()  # no box yet: cup and spoon only
    assert len(_labels(first.graph)) == 8
    (tmp_path / "tea" / "box-of-tea-bags").touch()
    root = teatime.a_cup_of_tea.build(base).run()
    # The cup, the spoon and the box were ready when built: left out, as iotaa does.
    assert _labels(root.graph) == ["Boiling water in cup", "Steeped tea", "Sugar in cup",
                                   "Tea bag in cup", "The perfect cup of tea"]
    assert len(to_data(root)["nodes"]) == 5
    assert to_mermaid(root).count(":::") == 5


def _line(dot: str, name: str) -> str:
    return next(line for line in dot.splitlines() if f'label="{name}"' in line)


def test_failed_and_blocked_nodes_look_different(tmp_path):
    @task
    def broken():
        yield "broken"
        yield Asset(None, lambda: False)
        yield None
        raise RuntimeError("boom")

    @task
    def after():
        yield "after"
        yield Asset(None, lambda: False)
        yield broken()

    @external
    def missing():
        yield "missing"
        yield Asset(None, lambda: False)

    @collection
    def everything():
        yield "everything"
        yield [after(), missing()]

    root = everything.build().run()
    assert [state(n) for n in (root, *root._deps)] == ["blocked", "blocked", "not ready"]
    dot = root.graph
    assert "fillcolor=tomato" in _line(dot, "broken")
    assert "dashed" in _line(dot, "after")
    assert "fillcolor=orange" in _line(dot, "after")
    assert "dashed" not in _line(dot, "missing")
    assert "shape=cylinder" in _line(dot, "missing")
    assert "shape=box3d" in _line(dot, "everything")
    mermaid = to_mermaid(root)
    assert ":::failed" in next(line for line in mermaid.splitlines() if "broken" in line)
    assert ":::blocked" in next(line for line in mermaid.splitlines() if '"after"' in line)


def test_labels_are_escaped_in_dot_and_mermaid():
    name = 'say "hi" \\ <b>#1</b>\nnext line'

    @task
    def odd():
        yield name
        yield Asset(None, lambda: False)
        yield None

    root = odd.build()
    dot = to_dot(root)
    assert 'label="say \\"hi\\" \\\\ <b>#1</b>\\nnext line"' in dot
    assert "\nnext" not in dot
    mermaid = to_mermaid(root)
    assert '#quot;hi#quot;' in mermaid
    assert "#lt;b#gt;#35;1" in mermaid
    assert '"hi"' not in mermaid
    assert "\nnext" not in mermaid


class Kitchen(ProcessDefinition):
    process_execution_mode = ExecutionMode.SEQUENTIAL

    def define_process(self, builder):
        builder.task(self.start)
        with builder.concurrent() as block:
            block.task(self.left)
            block.task(self.right)
        builder.task(self.finish)

    def start(self): ...

    def left(self): ...

    def right(self): ...

    def finish(self): ...


def test_process_graphs_show_steps_rounded_and_no_join_nodes():
    root = Kitchen.build()
    data = to_data(root)
    assert sorted(n["name"] for n in data["nodes"]) == [
        "Kitchen", "Kitchen.finish", "Kitchen.left", "Kitchen.right", "Kitchen.start"]
    assert {n["kind"] for n in data["nodes"]} == {"process", "step"}
    edges = {(e["from"], e["to"]) for e in data["edges"]}
    # finish requires the concurrent block: the edges go to its steps, not to a join.
    assert ("Kitchen.finish", "Kitchen.left") in edges
    assert ("Kitchen.finish", "Kitchen.right") in edges
    assert "shape=component" in _line(root.graph, "Kitchen")
    assert "rounded" in _line(root.graph, "Kitchen.left")
    json.dumps(data)


def test_run_graph_takes_a_format(tmp_path, teatime):
    from click.testing import CliRunner

    from tasktronaut.cli.commands import cli

    target = f"{EXAMPLES / 'teatime.py'}:a_cup_of_tea"
    result = CliRunner().invoke(cli, ["run", target, str(tmp_path / "tea"), "--graph",
                                      "--format", "mermaid"])
    assert result.exit_code == 1, result.stderr
    assert result.stdout.startswith("flowchart TD")
    assert "Box of tea bags" in result.stdout
