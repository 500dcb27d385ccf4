"""Strict, friendly command-line input: unknown names, attrs-typed values, long values,
negative numbers, worker limits, settings from the environment and pyproject.toml, a clean
``--graph``, and build errors that say where they were raised."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import attrs
import pytest
from click.testing import CliRunner

from tasktronaut.cli import cli
from tasktronaut.cli.convert import ConversionError, convert

FLOWS = '''
import os
from typing import Annotated, Optional

import attrs
from annotated_types import Gt
from tasktronaut import Asset, ProcessDefinition, task


@attrs.define
class Server:
    host: str = "localhost"
    port: int = 80


class Ingest(ProcessDefinition):
    def define_process(self, builder):
        builder.expected_arguments(files=list, limit=Optional[int], server=Optional[Server])
        if builder.option("notify", False):
            builder.task(self.notify)
        builder.task(self.load)

    def load(self, files, limit, server):
        print("LOADING", files, limit, server)
        return [files, limit, repr(server)]

    def notify(self):
        return "notified"


class Broken(ProcessDefinition):
    def define_process(self, builder):
        raise ValueError("no configuration")


class BrokenItems(ProcessDefinition):
    def define_process(self, builder):
        for item in builder.each(self.items):
            item.task(self.load)

    def items(self):
        yield {"n": 1}
        raise LookupError("item two")

    def load(self, n):
        return n


class Probed(ProcessDefinition):
    """Has a step named like the class API; the command line must not call it to probe."""

    def define_process(self, builder):
        builder.expected_arguments(count=Annotated[int, Gt(0)])
        builder.task(self.expected_types)

    def expected_types(self, count):
        print("STEP RAN", count)
        return count


class Undeclared(ProcessDefinition):
    def define_process(self, builder):
        print("DEFINING")
        builder.task(self.echo)

    def echo(self, **kwargs):
        print("ECHO", sorted(kwargs.items()))


@task
def location(lat: float, lon: float, out: str = "where.txt"):
    yield f"location {lat} {lon}"
    yield Asset(out, lambda: os.path.exists(out))
    yield None
    print("PRINTED BY A STEP")
    with open(out, "w") as f:
        f.write(f"{lat} {lon}")
'''


@pytest.fixture
def flows(tmp_path, monkeypatch):
    path = tmp_path / "compat_flows.py"
    path.write_text(FLOWS)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield path
    sys.modules.pop("compat_flows", None)


def invoke(*args, env=None):
    return CliRunner().invoke(cli, [str(a) for a in args], env=env)


def error_line(result) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.exit_code == 2, result.stderr
    return lines[0]


# -- unknown names -----------------------------------------------------------------------------


def test_an_unknown_arg_of_a_process_names_the_closest(flows):
    result = invoke("run", f"{flows}:Ingest", "--arg", "files=[]", "--arg", "limt=3")
    assert error_line(result) == (
        f"Error: --arg 'limt' is not an argument of {flows}:Ingest; did you mean 'limit'?")


def test_an_unknown_option_of_a_process_names_the_closest(flows):
    result = invoke("run", f"{flows}:Ingest", "--arg", "files=[]", "--option", "notfy=true")
    assert error_line(result) == (
        f"Error: --option 'notfy' is not an option {flows}:Ingest reads; did you mean 'notify'?")


def test_an_option_the_process_reads_is_used(flows):
    result = invoke("run", f"{flows}:Ingest", "--arg", "files=[]", "--option", "notify=true")
    assert result.exit_code == 0, result.stderr
    assert "Ingest.notify" in result.stderr


def test_an_unknown_arg_of_a_task_function_names_the_closest(flows):
    result = invoke("run", f"{flows}:location", "--arg", "lat=1", "--arg", "lng=2")
    assert error_line(result) == (
        f"Error: --arg 'lng' is not a parameter of {flows}:location; did you mean 'lon'?")


# -- values ------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["db1.example.org", "{", "[1]", "42", '"text"'])
def test_an_attrs_typed_argument_takes_only_a_json_object(flows, value):
    result = invoke("run", f"{flows}:Ingest", "--arg", "files=[]", "--arg", f"server={value}")
    assert error_line(result).startswith("Error: argument 'server' expects Optional[Server]")


def test_a_misspelt_key_of_an_attrs_typed_argument_is_refused(flows):
    result = invoke("run", f"{flows}:Ingest", "--arg", "files=[]",
                    "--arg", 'server={"hots": "db1"}')
    assert "hots" in error_line(result)


def test_an_attrs_typed_argument_from_a_json_object(flows):
    result = invoke("run", f"{flows}:Ingest", "--arg", "files=[]",
                    "--arg", 'server={"host": "db1", "port": 5432}')
    assert result.exit_code == 0, result.stderr
    assert "Server(host='db1', port=5432)" in result.stdout


def test_a_long_bad_value_is_shortened_in_the_error_line(flows):
    result = invoke("run", f"{flows}:Ingest", "--arg", "files=[]",
                    "--arg", "limit=" + "9x" * 50_000)
    line = error_line(result)
    assert len(line) < 300
    assert "(100002 characters)" in line


def test_negative_numbers_are_positional_arguments(flows, tmp_path):
    result = invoke("run", f"{flows}:location", "40.1672", "-105.1091")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "where.txt").read_text() == "40.1672 -105.1091"


def test_negative_numbers_among_options(flows, tmp_path):
    result = invoke("run", "-t", "2", f"{flows}:location", "-1", "--dry-run", "-2.5e3")
    assert result.exit_code == 1, result.stderr  # a dry run leaves the task not ready
    assert "location -1.0 -2500.0: SKIPPING (DRY RUN)" in result.stderr


# -- workers, environment, pyproject.toml --------------------------------------------------------


def test_absurd_worker_counts_are_refused(flows):
    assert error_line(invoke("run", "-t", "3000", f"{flows}:location", "1", "2")) == (
        "Error: --threads must be at most 1024, got 3000")
    assert error_line(invoke("run", "-p", "100000", f"{flows}:location", "1", "2")) == (
        "Error: --processes must be at most 256, got 100000")


def test_options_come_from_tasktronaut_environment_variables(flows, tmp_path):
    result = invoke("run", f"{flows}:location", "1", "2", env={"TASKTRONAUT_DRY_RUN": "1"})
    assert result.exit_code == 1
    assert not (tmp_path / "where.txt").exists()
    bad = invoke("run", f"{flows}:location", "1", "2", env={"TASKTRONAUT_THREADS": "5000"})
    assert error_line(bad) == (
        "Error: --threads must be at most 1024, got 5000 (from TASKTRONAUT_THREADS)")
    wrong = invoke("run", f"{flows}:location", "1", "2", env={"TASKTRONAUT_THREADS": "four"})
    assert "(from TASKTRONAUT_THREADS)" in error_line(wrong)


def test_options_come_from_pyproject_toml_and_the_command_line_wins(flows, tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.tasktronaut]\nthreads = 5000\n")
    bad = invoke("run", f"{flows}:location", "1", "2")
    assert error_line(bad) == ("Error: --threads must be at most 1024, got 5000 (from "
                               f"[tool.tasktronaut] in {tmp_path / 'pyproject.toml'})")
    assert invoke("run", "-t", "2", f"{flows}:location", "1", "2").exit_code == 0
    env = invoke("run", f"{flows}:location", "1", "2", env={"TASKTRONAUT_THREADS": "2"})
    assert env.exit_code == 0, env.stderr


def test_a_command_table_in_pyproject_toml(flows, tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.tasktronaut]\nthreads = 2\n[tool.tasktronaut.run]\ndry-run = true\n')
    result = invoke("run", f"{flows}:location", "1", "2")
    assert result.exit_code == 1
    assert not (tmp_path / "where.txt").exists()


def test_an_unknown_key_in_pyproject_toml_names_the_closest(flows, tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.tasktronaut]\nthread = 2\n")
    assert error_line(invoke("run", f"{flows}:location", "1", "2")) == (
        f"Error: [tool.tasktronaut] in {tmp_path / 'pyproject.toml'}: no option 'thread'; "
        "did you mean 'threads'?")


def test_a_bad_value_type_in_pyproject_toml_names_where_it_came_from(flows, tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.tasktronaut]\nthreads = "many"\n')
    line = error_line(invoke("run", f"{flows}:location", "1", "2"))
    assert f"(from [tool.tasktronaut] in {tmp_path / 'pyproject.toml'})" in line


# -- output and errors -------------------------------------------------------------------------


def test_run_graph_keeps_what_steps_print_off_stdout(flows):
    result = invoke("run", "--graph", f"{flows}:location", "1", "2")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("digraph g {")
    assert "PRINTED BY A STEP" in result.stderr


def test_run_graph_to_a_file_from_a_real_process(flows, tmp_path):
    program = Path(sys.executable).with_name("tasktronaut")
    if not program.exists():
        pytest.skip("the tasktronaut console script is not installed")
    with (tmp_path / "graph.dot").open("w") as out:
        done = subprocess.run([str(program), "run", "--graph", f"{flows}:location", "1", "2"],
                              stdout=out, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                              timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    dot = (tmp_path / "graph.dot").read_text()
    assert dot.startswith("digraph g {")
    assert dot.rstrip().endswith("}")
    assert "PRINTED" not in dot
    assert "PRINTED BY A STEP" in done.stderr


def test_an_error_in_define_process_names_the_process(flows):
    result = invoke("run", f"{flows}:Broken")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "Error: in Broken.define_process: ValueError: no configuration")


def test_an_error_in_an_each_function_names_it(flows):
    result = invoke("run", f"{flows}:BrokenItems")
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: in each BrokenItems.items: LookupError: item two"


def test_a_target_that_is_not_a_regular_file(tmp_path):
    result = invoke("run", "/dev/null:main")
    assert error_line(result) == "Error: not a Python file: /dev/null"


def test_the_positional_reorder_keeps_a_double_dash(flows, tmp_path):
    script = textwrap.dedent(f"""
        import sys
        from tasktronaut.cli import main
        sys.argv = ["tasktronaut", "run", "{flows}:location", "--", "-3", "-4"]
        main()
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "where.txt").read_text() == "-3.0 -4.0"


def test_a_step_named_expected_types_runs_once_as_a_step(flows):
    result = invoke("run", f"{flows}:Probed", "--arg", "count=3")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("STEP RAN 3") == 1


def test_an_annotated_constraint_is_a_usage_error_on_the_command_line(flows):
    result = invoke("run", f"{flows}:Probed", "--arg", "count=-1")
    assert error_line(result) == "Error: Probed: argument 'count' must be > 0, got -1"


def test_a_process_that_declares_no_arguments_takes_any_arg(flows):
    result = invoke("run", f"{flows}:Undeclared", "--arg", "colour=blue")
    assert result.exit_code == 0, result.stderr
    assert "ECHO [('colour', 'blue')]" in result.stdout


@attrs.define
class Inner:
    host: str = "x"


@attrs.define
class Outer:
    inner: Inner


def test_a_nested_attrs_value_names_what_is_wrong():
    with pytest.raises(ConversionError, match=r"'db1' is not a JSON object at \.inner"):
        convert('{"inner": "db1"}', Outer, "outer")


def test_a_sub_command_table_in_pyproject_toml(tmp_path):
    from tasktronaut.cli.config import default_map

    (tmp_path / "pyproject.toml").write_text(
        '[tool.tasktronaut]\nthreads = 2\n[tool.tasktronaut.state.list]\nstate = "x.db"\n')
    defaults, path = default_map(cli, tmp_path)
    assert path == tmp_path / "pyproject.toml"
    assert defaults["run"]["threads"] == 2
    assert defaults["state"]["list"] == {"path": "x.db"}


def test_graph_and_run_graph_keep_what_a_definition_prints_off_stdout(flows):
    for command in (["graph"], ["run", "--graph"]):
        result = invoke(*command, f"{flows}:Undeclared")
        assert result.exit_code == 0, result.stderr
        assert result.stdout.startswith("digraph g {"), result.stdout
        assert "DEFINING" in result.stderr
