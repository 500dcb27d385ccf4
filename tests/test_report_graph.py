"""Graph exports: Graphviz DOT, Mermaid and JSON."""

import json

import pytest

from tasktronaut import Asset, collection, graph, task
from tasktronaut.model.report import to_json, to_mermaid


@pytest.fixture
def root(tmp_path):
    @task
    def good():
        yield "good"
        yield Asset(tmp_path / "good", (tmp_path / "good").is_file)
        yield None
        (tmp_path / "good").touch()

    @task
    def stuck():
        yield "stuck"
        yield Asset(None, lambda: False)
        yield None

    @collection
    def both():
        yield "both"
        yield [good(), stuck()]

    return both()


def _dot_line(dot, name):
    return next(line for line in dot.splitlines() if f'label="{name}"' in line)


def test_graph_is_dot_with_readiness_colours_and_an_edge_per_requirement(root):
    dot = graph(root)
    assert dot == root.graph
    assert dot.lstrip().startswith("digraph")
    assert "palegreen" in _dot_line(dot, "good")
    assert "orange" in _dot_line(dot, "stuck")
    assert "orange" in _dot_line(dot, "both")
    assert dot.count("->") == 2


def test_mermaid_names_every_task_and_requirement_edge(root):
    text = to_mermaid(root)
    assert text.split()[0] in ("graph", "flowchart")
    for name in ("both", "good", "stuck"):
        assert name in text
    assert text.count("-->") == 2


def test_json_lists_nodes_with_readiness_and_edges(root):
    data = json.loads(to_json(root))
    assert sorted((n["name"], n["ready"]) for n in data["nodes"]) == [
        ("both", False),
        ("good", True),
        ("stuck", False),
    ]
    assert len(data["edges"]) == 2
