"""The command line: run, show and graph, in process with CliRunner and as a real program."""

import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from tasktronaut import ArgumentError, Asset, Node, NodeStatus, collection, task
from tasktronaut.cli import cli
from tasktronaut.cli.observe import interactive
from tasktronaut.cli.progress import Progress
from tasktronaut.cli.summary import Summary, elapsed
from tasktronaut.model.node import traverse

pytestmark = pytest.mark.usefixtures("loguru_reset")

ROOT = Path(__file__).resolve().parent.parent
TEATIME = ROOT / "examples" / "teatime.py"

WORKFLOWS = '''
"""Workflows for the command-line tests."""

from __future__ import annotations

import enum
import json
from datetime import date
from pathlib import Path
from typing import Optional

from tasktronaut import Asset, ProcessDefinition, collection, external, task


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@task
def note(path: Path, count: int = 1, when: Optional[date] = None, color: Color = Color.RED):
    """Write the arguments to a file.

    Only the first line shows in the listing.
    """
    yield f"note {path}"
    yield Asset(path, path.exists)
    yield None
    path.write_text(json.dumps([type(path).__name__, count, str(when), color.value]))


@task
def notes(*paths: Path):
    yield "notes"
    yield Asset(None, lambda: all(p.exists() for p in paths))
    yield [note(p) for p in paths]


@external
def missing(path: Path):
    """A file nobody makes."""
    yield f"missing {path}"
    yield Asset(path, path.exists)


@task
def boom(path: Path):
    """Fails every time."""
    yield "boom"
    yield Asset(path, path.exists)
    yield None
    raise RuntimeError("no luck")


@collection
def both(a: Path, b: Path):
    """Two notes."""
    yield "both"
    yield [note(a), note(b)]


@task
def broken_build(path: Path):
    yield "broken"
    raise KeyError("configuration")
    yield None  # never reached: here for the decorator, which counts a task's yields
    yield None


def plain(path):
    """Not a task."""


class Count(ProcessDefinition):
    """Count to a number.

    More about counting.
    """

    def define_process(self, builder):
        builder.expected_arguments(count=int, out=str, when=Optional[date])
        builder.task(self.step)
        if builder.option("twice", False):
            builder.task(self.step)

    def step(self, count, out, when):
        with open(out, "a") as f:
            f.write(f"{count!r} {when!r}\\n")


class Quiet(ProcessDefinition):
    def define_process(self, builder):
        builder.task(self.step)

    def step(self):
        pass
'''


@pytest.fixture
def workflows(tmp_path, monkeypatch):
    """The test workflows as a module file with a name of its own; returns its path."""
    name = f"wf_{tmp_path.name.replace('-', '_')}"
    path = tmp_path / "flows" / f"{name}.py"
    path.parent.mkdir()
    path.write_text(WORKFLOWS)
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield path
    sys.modules.pop(name, None)


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def error_line(result):
    """The one line a usage error prints; fails if there is more, or a traceback."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.stderr
    return lines[0]


def summary(result):
    return [line for line in result.stderr.splitlines() if "Summary: " in line][-1]


# -- help and version ------------------------------------------------------------------------------


def test_help_describes_the_commands_with_examples():
    result = invoke("-h")
    assert result.exit_code == 0
    for text in ("run", "show", "graph", "Examples:", "Exit status", "path/to/file.py:Name"):
        assert text in result.stdout


@pytest.mark.parametrize("command", ["run", "show", "graph"])
def test_each_command_has_help(command):
    result = invoke(command, "--help")
    assert result.exit_code == 0
    assert "Examples:" in result.stdout


def test_run_help_lists_every_flag():
    out = invoke("run", "-h").stdout
    for flag in ("--arg", "--option", "-t, --threads", "-p, --processes", "-d, --dry-run",
                 "-g, --graph", "-v, --verbose", "--id"):
        assert flag in out


def test_version():
    from tasktronaut import __version__

    result = invoke("--version")
    assert result.exit_code == 0
    assert __version__ in result.stdout


# -- run: asset tasks ---------------------------------------------------------------------------


def test_run_a_task_with_a_positional_argument(workflows, tmp_path):
    out = tmp_path / "out.json"
    result = invoke("run", f"{workflows}:note", out)
    assert result.exit_code == 0, result.stderr
    assert json.loads(out.read_text()) == ["PosixPath" if os.name != "nt" else "WindowsPath",
                                           1, "None", "red"]
    assert "note " in result.stderr
    assert "Ready" in result.stderr
    assert result.stdout == ""
    assert summary(result).endswith("Summary: 1 run, 0 already ready, 0 not ready, 0 failed")
    assert "Elapsed: " in result.stderr.splitlines()[-1]


def test_a_second_run_finds_the_task_ready(workflows, tmp_path):
    out = tmp_path / "out.json"
    invoke("run", f"{workflows}:note", out)
    result = invoke("run", f"{workflows}:note", out)
    assert result.exit_code == 0
    assert summary(result).endswith("0 run, 1 already ready, 0 not ready, 0 failed")


def test_named_arguments_are_converted_to_the_parameter_types(workflows, tmp_path):
    out = tmp_path / "out.json"
    result = invoke("run", f"{workflows}:note", "--arg", f"path={out}", "--arg", "count=3",
                    "--arg", "when=2024-05-01", "--arg", "color=BLUE")
    assert result.exit_code == 0, result.stderr
    assert json.loads(out.read_text())[1:] == [3, "2024-05-01", "blue"]


def test_variable_positional_arguments(workflows, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    result = invoke("run", f"{workflows}:notes", a, b, "-t", "2")
    assert result.exit_code == 0, result.stderr
    assert a.exists()
    assert b.exists()
    assert summary(result).endswith("3 run, 0 already ready, 0 not ready, 0 failed")


def test_a_dotted_target_is_imported_from_sys_path(workflows, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(workflows.parent))
    out = tmp_path / "out.json"
    result = invoke("run", f"{workflows.stem}.note", out)
    assert result.exit_code == 0, result.stderr
    assert out.exists()


def test_not_ready_exits_1(workflows, tmp_path):
    result = invoke("run", f"{workflows}:missing", tmp_path / "nope")
    assert result.exit_code == 1
    assert "Not ready [external asset]" in result.stderr
    assert summary(result).endswith("0 run, 0 already ready, 1 not ready, 0 failed")


def test_a_failed_task_exits_1_with_a_count(workflows, tmp_path):
    result = invoke("run", f"{workflows}:boom", tmp_path / "x")
    assert result.exit_code == 1
    assert "boom: Task failed: no luck" in result.stderr
    assert "Traceback" not in result.stderr
    assert summary(result).endswith("0 run, 0 already ready, 0 not ready, 1 failed")


def test_a_failure_shows_its_traceback_with_verbose(workflows, tmp_path):
    result = invoke("run", f"{workflows}:boom", tmp_path / "x", "-v")
    assert result.exit_code == 1
    assert "Traceback" in result.stderr


def test_dry_run_runs_no_action(workflows, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    result = invoke("run", f"{workflows}:both", a, b, "--dry-run")
    assert result.exit_code == 1
    assert not a.exists()
    assert not b.exists()
    assert "SKIPPING (DRY RUN)" in result.stderr


def test_graph_flag_prints_dot_after_the_run(workflows, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    result = invoke("run", f"{workflows}:both", a, b, "-g")
    assert result.exit_code == 0
    assert result.stdout.startswith("digraph g {")
    assert result.stdout.count("fillcolor=palegreen") == 3
    assert "digraph" not in result.stderr


def test_no_progress_line_when_stderr_is_not_a_terminal(workflows, tmp_path):
    result = invoke("run", f"{workflows}:both", tmp_path / "a", tmp_path / "b")
    assert "Progress:" not in result.stderr
    assert "\x1b[K" not in result.stderr


def test_a_terminal_without_rich_gets_a_live_progress_line(workflows, tmp_path, monkeypatch):
    monkeypatch.setattr("tasktronaut.cli.observe.interactive", lambda stream: True)
    monkeypatch.setattr("tasktronaut.cli.observe.rich_available", lambda: False)
    result = invoke("run", f"{workflows}:both", tmp_path / "a", tmp_path / "b")
    assert result.exit_code == 0
    assert "\r\x1b[KProgress: 0/2 done, 0 failed, 1 running" in result.stderr
    assert "\r\x1b[KProgress: 2/2 done, 0 failed, 0 running" in result.stderr
    # The summary comes after the live line was wiped, each line whole.
    last = result.stderr.split("\x1b[K")[-1]
    assert "Summary: 2 run" in last
    assert "Progress" not in last


# -- run: processes ------------------------------------------------------------------------------


def test_run_a_process_with_arguments_options_and_identifier(workflows, tmp_path):
    out = tmp_path / "count.txt"
    result = invoke("run", f"{workflows}:Count", "--arg", "count=3", "--arg", f"out={out}",
                    "--arg", "when=2024-05-01", "--option", "twice=true", "--id", "job-7")
    assert result.exit_code == 0, result.stderr
    assert out.read_text().splitlines() == ["3 datetime.date(2024, 5, 1)"] * 2
    assert "Count [job-7]" in result.stderr
    assert summary(result).endswith("2 run, 0 already ready, 0 not ready, 0 failed")


def test_an_optional_process_argument_may_be_left_out(workflows, tmp_path):
    out = tmp_path / "count.txt"
    result = invoke("run", f"{workflows}:Count", "--arg", "count=1", "--arg", f"out={out}")
    assert result.exit_code == 0, result.stderr
    assert out.read_text() == "1 None\n"


def test_a_process_is_built_by_graph_without_running(workflows, tmp_path):
    out = tmp_path / "count.txt"
    result = invoke("graph", f"{workflows}:Count", "--arg", "count=1", "--arg", f"out={out}",
                    "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["root"] == "Count"
    assert "Count.step" in [n["name"] for n in data["nodes"]]
    assert not out.exists()


# -- graph and show -------------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "start"), [("dot", "digraph g {"), ("mermaid", "flowchart TD"),
                                           ("json", "{")])
def test_graph_prints_each_format_and_runs_nothing(workflows, tmp_path, fmt, start):
    a, b = tmp_path / "a", tmp_path / "b"
    result = invoke("graph", f"{workflows}:both", a, b, "--format", fmt)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(start)
    assert not a.exists()
    assert not b.exists()


def test_graph_json_lists_nodes_and_edges_leaving_out_what_was_ready(workflows, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    b.touch()
    data = json.loads(invoke("graph", f"{workflows}:both", a, b, "-f", "json").stdout)
    ready = {n["name"]: n["ready"] for n in data["nodes"]}
    assert ready == {"both": False, f"note {a}": False}  # as iotaa: b was ready when built
    assert {(e["from"], e["to"]) for e in data["edges"]} == {("both", f"note {a}")}


def test_show_lists_tasks_and_processes_with_their_first_doc_line(workflows):
    result = invoke("show", workflows)
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        f"Tasks in {workflows}:",
        "  boom",
        "    Fails every time.",
        "  both",
        "    Two notes.",
        "  broken_build",
        "  missing",
        "    A file nobody makes.",
        "  note",
        "    Write the arguments to a file.",
        "  notes",
        f"Processes in {workflows}:",
        "  Count",
        "    Count to a number.",
        "  Quiet",
    ]


def test_show_says_when_there_is_nothing(tmp_path):
    module = tmp_path / "empty_module_for_show.py"
    module.write_text("X = 1\n")
    try:
        result = invoke("show", module)
    finally:
        sys.modules.pop("empty_module_for_show", None)
    assert result.stdout.splitlines() == [f"Tasks in {module}:", "  (none)",
                                          f"Processes in {module}:", "  (none)"]


# -- bad input: one line on stderr, exit 2 ---------------------------------------------------------


def test_unknown_module(workflows):
    result = invoke("run", "no_such_module_here.thing")
    assert result.exit_code == 2
    assert error_line(result) == "Error: no module named 'no_such_module_here'"


def test_unknown_file(tmp_path):
    result = invoke("run", f"{tmp_path}/nope.py:thing")
    assert result.exit_code == 2
    assert error_line(result) == f"Error: no such file: {tmp_path}/nope.py"


def test_unknown_attribute(workflows):
    result = invoke("run", f"{workflows}:nothing")
    assert result.exit_code == 2
    assert "has no task or process named 'nothing'" in error_line(result)


def test_a_target_that_is_neither_process_nor_task(workflows):
    result = invoke("run", f"{workflows}:plain", "x")
    assert result.exit_code == 2
    assert "is neither a process nor a task" in error_line(result)


def test_a_file_without_a_name(workflows):
    result = invoke("run", workflows)
    assert result.exit_code == 2
    assert "target must be pkg.module.Name or path/to/file.py:Name" in error_line(result)


def test_malformed_arg(workflows):
    result = invoke("run", f"{workflows}:Count", "--arg", "count")
    assert result.exit_code == 2
    assert error_line(result) == "Error: --arg expects name=value, got 'count'"


def test_a_process_value_that_does_not_convert(workflows):
    result = invoke("run", f"{workflows}:Count", "--arg", "count=many", "--arg", "out=x")
    assert result.exit_code == 2
    assert error_line(result) == "Error: argument 'count' expects int, got 'many'"


def test_a_task_value_that_does_not_convert(workflows, tmp_path):
    result = invoke("run", f"{workflows}:note", tmp_path / "x", "--arg", "when=someday")
    assert result.exit_code == 2
    assert error_line(result) == (
        "Error: argument 'when' expects Optional[date], got 'someday'"
    )


def test_a_missing_process_argument(workflows):
    result = invoke("run", f"{workflows}:Count", "--arg", "count=1")
    assert result.exit_code == 2
    line = error_line(result)
    assert "missing argument 'out'" in line


def test_a_missing_task_argument(workflows):
    result = invoke("run", f"{workflows}:note")
    assert result.exit_code == 2
    assert "missing a required argument: 'path'" in error_line(result)


def test_too_many_task_arguments(workflows):
    result = invoke("run", f"{workflows}:missing", "a", "b")
    assert result.exit_code == 2
    assert "too many positional arguments" in error_line(result)


def test_positional_arguments_for_a_process(workflows):
    result = invoke("run", f"{workflows}:Quiet", "5")
    assert result.exit_code == 2
    assert "a process takes --arg NAME=VALUE" in error_line(result)


@pytest.mark.parametrize("flags", [["--option", "a=1"], ["--id", "x"]])
def test_process_flags_for_a_task(workflows, tmp_path, flags):
    result = invoke("run", f"{workflows}:note", tmp_path / "x", *flags)
    assert result.exit_code == 2
    assert "applies to processes only" in error_line(result)


@pytest.mark.parametrize("threads", ["0", "-2"])
def test_threads_below_one(workflows, threads):
    result = invoke("run", f"{workflows}:Quiet", "-t", threads)
    assert result.exit_code == 2
    assert error_line(result) == f"Error: --threads must be at least 1, got {threads}"


def test_processes_below_zero(workflows):
    result = invoke("run", f"{workflows}:Quiet", "-p", "-1")
    assert result.exit_code == 2
    assert error_line(result) == "Error: --processes must be at least 0, got -1"


def test_a_run_setting_the_engine_rejects_is_a_usage_error(workflows, monkeypatch):
    def reject(self, **settings):
        raise ArgumentError("process workers are not available", name="processes", value=2)

    monkeypatch.setattr(Node, "run", reject)
    result = invoke("run", f"{workflows}:Quiet", "-p", "2")
    assert result.exit_code == 2
    assert error_line(result) == "Error: process workers are not available"


def test_a_module_that_raises_on_import(tmp_path):
    module = tmp_path / "raises_on_import.py"
    module.write_text("import json\nraise ValueError('settings.toml is missing')\n")
    result = invoke("run", f"{module}:thing")
    assert result.exit_code == 2
    assert error_line(result) == (
        f"Error: importing {module} failed: ValueError: settings.toml is missing"
    )
    assert "raises_on_import" not in sys.modules


def test_verbose_shows_the_traceback_of_a_bad_import(tmp_path):
    module = tmp_path / "raises_on_import_verbose.py"
    module.write_text("raise ValueError('settings.toml is missing')\n")
    result = invoke("run", f"{module}:thing", "-v")
    assert result.exit_code == 2
    assert "Traceback" in result.stderr
    assert result.stderr.splitlines()[-1].startswith("Error: importing")


def test_click_usage_errors_are_one_line_too(workflows):
    result = invoke("run", f"{workflows}:Quiet", "--bogus")
    assert result.exit_code == 2
    assert "No such option" in error_line(result)
    assert invoke("run").exit_code == 2
    assert "Missing argument 'TARGET'" in error_line(invoke("run"))
    assert "'x' is not a valid integer" in error_line(invoke("run", "m.X", "-t", "x"))
    assert "No such command" in error_line(invoke("frobnicate"))


def test_an_error_in_the_workflow_code_while_building_exits_1(workflows, tmp_path):
    result = invoke("run", f"{workflows}:broken_build", tmp_path)
    assert result.exit_code == 1
    assert error_line(result) == (
        "Error: in task 'broken', before it yielded its asset(s): KeyError: 'configuration'")


# -- progress and summary --------------------------------------------------------------------------


@pytest.fixture
def pair(tmp_path):
    @task
    def leaf(name: str):
        yield f"leaf {name}"
        yield Asset(tmp_path / name, (tmp_path / name).exists)
        yield None
        (tmp_path / name).touch()

    @collection
    def top():
        yield "top"
        yield [leaf("a"), leaf("b")]

    (tmp_path / "b").touch()
    return top.build()


class _Message(str):
    def __new__(cls, text):
        message = super().__new__(cls, text + "\n")
        message.record = {"message": text}
        return message


def _started(progress, root):
    nodes = list(traverse(root))
    progress.run_started(root, nodes)
    return {n.taskname: n for n in nodes}


def test_progress_counts_from_the_runs_events(pair):
    progress = Progress()
    nodes = _started(progress, pair)
    # Only tasks and steps count; leaf b was ready already.
    assert progress.line().startswith("Progress: 0/1 done, 0 failed, 0 running, 0:00 elapsed")
    progress.node_started(nodes["leaf a"])
    assert progress.line().startswith("Progress: 0/1 done, 0 failed, 1 running")
    nodes["leaf a"].status = NodeStatus.FAILED
    progress.node_finished(nodes["leaf a"])
    assert progress.line().startswith("Progress: 1/1 done, 1 failed, 0 running")
    nodes["top"].status = NodeStatus.NOT_READY
    progress.node_finished(nodes["top"])
    assert progress.line().startswith("Progress: 1/1 done, 1 failed, 0 running")


def test_progress_redraws_one_line_around_log_lines(pair):
    stream = io.StringIO()
    progress = Progress(stream)
    nodes = _started(progress, pair)
    progress.node_started(nodes["leaf a"])
    assert stream.getvalue().startswith("\r\x1b[KProgress: 0/1 done, 0 failed, 1 running")
    progress.clear(_Message("a log line"))
    assert stream.getvalue().endswith("\r\x1b[K")
    progress.observe(_Message("a log line"))
    assert stream.getvalue().endswith("\r\x1b[K\r\x1b[KProgress: 0/1 done, 0 failed, "
                                      "1 running, 0:00 elapsed")
    progress.close()
    assert stream.getvalue().endswith("\r\x1b[K")
    nodes["leaf a"].status = NodeStatus.READY
    progress.node_finished(nodes["leaf a"])
    assert stream.getvalue().endswith("\r\x1b[K")


def test_progress_without_a_stream_writes_nothing(pair):
    progress = Progress(None)
    nodes = _started(progress, pair)
    progress.clear()
    progress.node_started(nodes["leaf a"])
    progress.observe(_Message("leaf a: Executing"))
    nodes["leaf a"].status = NodeStatus.READY
    progress.node_finished(nodes["leaf a"])
    progress.close()
    assert progress.done == 1


def test_a_string_buffer_is_not_interactive():
    assert not interactive(io.StringIO())


def test_summary_counts_statuses(pair):
    root = pair.run()
    result = Summary.of(root, 1.5)
    assert (result.ran, result.already_ready, result.not_ready, result.failed) == (1, 1, 0, 0)
    assert result.lines() == ["Summary: 1 run, 1 already ready, 0 not ready, 0 failed",
                              "Elapsed: 1.50s"]


@pytest.mark.parametrize(("seconds", "text"), [(0.123, "0.12s"), (12.34, "12.3s"),
                                               (125, "2m 05s")])
def test_elapsed_time(seconds, text):
    assert elapsed(seconds) == text


# -- the installed program -------------------------------------------------------------------------


def _program():
    script = Path(sys.executable).with_name("tasktronaut")
    if not script.exists():
        pytest.skip("the tasktronaut console script is not installed (pip install -e .)")
    return str(script)


def _run(*args, cwd):
    return subprocess.run([*args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          check=False)


def test_the_tea_demo_as_a_program(tmp_path):
    program = _program()
    first = _run(program, "run", f"{TEATIME}:a_cup_of_tea", "teatime", cwd=tmp_path)
    assert first.returncode == 1
    assert "Box of tea bags" in first.stderr
    assert "Not ready [external asset]" in first.stderr
    assert (tmp_path / "teatime" / "cup").is_dir()
    assert (tmp_path / "teatime" / "spoon").exists()
    assert "Summary: 2 run, 0 already ready" in first.stderr
    assert first.stdout == ""


def test_the_finished_cup_of_tea_exits_0(tmp_path, finished_tea):
    program = _program()
    base = finished_tea
    result = _run(program, "run", f"{TEATIME}:a_cup_of_tea", base, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "The perfect cup of tea: Ready" in result.stderr
    assert "Summary: 0 run" in result.stderr
    assert "already ready" in result.stderr


def test_show_and_graph_as_a_program(tmp_path):
    program = _program()
    shown = _run(program, "show", TEATIME, cwd=tmp_path)
    assert shown.returncode == 0
    lines = shown.stdout.splitlines()
    assert lines[0] == f"Tasks in {TEATIME}:"
    assert lines[lines.index("  a_cup_of_tea") + 1].startswith("    The finished cup")
    assert f"Processes in {TEATIME}:" in lines
    graph = _run(program, "graph", f"{TEATIME}:a_cup_of_tea", "teatime", "--format", "json",
                 cwd=tmp_path)
    assert graph.returncode == 0
    assert json.loads(graph.stdout)["root"] == "The perfect cup of tea"
    assert not (tmp_path / "teatime").exists()


def test_bad_input_as_a_program(tmp_path):
    result = _run(_program(), "run", f"{TEATIME}:no_such_task", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"Error: {TEATIME} has no task or process named 'no_such_task' "
        f"(see 'tasktronaut show {TEATIME}')"
    ]


def test_python_dash_m(tmp_path):
    result = _run(sys.executable, "-m", "tasktronaut", "show", TEATIME, cwd=tmp_path)
    assert result.returncode == 0
    assert "a_cup_of_tea" in result.stdout


def test_a_module_from_the_working_directory(tmp_path):
    (tmp_path / "localflows.py").write_text(textwrap.dedent('''
        from tasktronaut import Asset, task

        @task
        def hello(n: int):
            """Say hello."""
            yield f"hello {n + 1}"
            yield Asset(n, lambda: True)
            yield None
    '''))
    result = _run(_program(), "run", "localflows.hello", "41", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "hello 42: Ready" in result.stderr
