"""Force: named nodes (and, downstream, what requires them) are not ready for one run."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from tasktronaut import ArgumentError, Asset, Builder, ProcessDefinition, task
from tasktronaut.cli import cli

RAN: list[str] = []


def _file_task(name: str, path: Path, *reqs):
    yield name
    yield Asset(path, path.exists)
    yield list(reqs)
    RAN.append(name)
    path.write_text(name)


@task
def raw(folder: Path):
    yield from _file_task("Raw", folder / "raw")


@task
def cooked(folder: Path):
    yield from _file_task("Cooked", folder / "cooked", raw(folder))


@task
def served(folder: Path):
    yield from _file_task("Served", folder / "served", cooked(folder))


@pytest.fixture(autouse=True)
def _clear() -> None:
    RAN.clear()


@pytest.fixture
def done(tmp_path: Path) -> Path:
    assert served.build(tmp_path).run().ready
    assert RAN == ["Raw", "Cooked", "Served"]
    RAN.clear()
    return tmp_path


def test_force_runs_the_named_node_below_a_ready_root_and_nothing_else(done):
    root = served.build(done).run(force=["Cooked"])
    assert root.ready
    assert RAN == ["Cooked"]
    assert (done / "served").exists()  # nothing was deleted


def test_force_downstream_also_runs_what_requires_it(done):
    assert served.build(done).run(force_downstream="Cooked").ready
    assert RAN == ["Cooked", "Served"]


def test_forcing_the_root_runs_only_the_root(done):
    assert served.build(done).run(force=["Served"]).ready
    assert RAN == ["Served"]


def test_a_forced_node_that_was_not_ready_runs_as_usual(tmp_path):
    assert served.build(tmp_path).run(force=["Raw"]).ready
    assert RAN == ["Raw", "Cooked", "Served"]


def test_an_unknown_name_is_refused(done):
    with pytest.raises(ArgumentError, match="force: no task named 'Boiled' in the graph of "
                                            "'Served'"):
        served.build(done).run(force=["Boiled"])
    assert RAN == []


def test_force_must_be_names(done):
    with pytest.raises(ArgumentError, match="force must be task names"):
        served.build(done).run(force=[1])


class Recorded(ProcessDefinition):
    def define_process(self, builder: Builder) -> None:
        builder.task(self.first)
        builder.task(self.second)

    def first(self) -> int:
        RAN.append("first")
        return 1

    def second(self) -> int:
        RAN.append("second")
        return 2


def test_a_forced_step_runs_although_it_was_recorded(tmp_path):
    state = tmp_path / "s.db"
    Recorded.build("r").run(state=state)
    RAN.clear()
    root = Recorded.build("r").run(state=state, force=["Recorded.first"])
    assert root.ready
    assert RAN == ["first"]
    root = Recorded.build("r").run(state=state, force_downstream=["Recorded.first"])
    assert RAN == ["first", "first", "second"]


FLOW = textwrap.dedent('''
    from pathlib import Path
    from tasktronaut import Asset, task

    def _file_task(name, path, *reqs):
        yield name
        yield Asset(path, path.exists)
        yield list(reqs)
        with open(path.parent / "ran.log", "a") as f:
            f.write(name + "\\n")
        path.write_text(name)

    @task
    def raw(folder: Path):
        yield from _file_task("Raw", folder / "raw")

    @task
    def cooked(folder: Path):
        yield from _file_task("Cooked", folder / "cooked", raw(folder))

    @task
    def served(folder: Path):
        yield from _file_task("Served", folder / "served", cooked(folder))
''')


@pytest.mark.parametrize(("option", "ran"), [("--force", ["Cooked"]),
                                              ("--force-downstream", ["Cooked", "Served"])])
def test_the_command_line_forces(tmp_path, option, ran):
    (tmp_path / "flow.py").write_text(FLOW)
    target = [f"{tmp_path / 'flow.py'}:served", str(tmp_path)]
    assert CliRunner().invoke(cli, ["run", *target]).exit_code == 0
    (tmp_path / "ran.log").unlink()
    result = CliRunner().invoke(cli, ["run", *target, option, "Cooked"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ran.log").read_text().split() == ran
