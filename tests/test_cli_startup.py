"""Start-up of the command line: what ``import tasktronaut``, ``--version`` and a plain ``run``
load (each in a fresh interpreter), and the stdlib text log a plain run uses instead of
loguru's sinks, with the same lines."""

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from tasktronaut.cli import cli

pytestmark = pytest.mark.usefixtures("loguru_reset")

ROOT = Path(__file__).resolve().parent.parent
TEATIME = ROOT / "examples" / "teatime.py"

REPORT_MODULES = '''
import atexit, sys
def _report(path=sys.argv.pop(1)):
    with open(path, "w") as f:
        f.write("\\n".join(sorted(sys.modules)))
atexit.register(_report)
'''
"""Prepended to a program: at exit it writes the names of the loaded modules to the file
named by its first argument."""


def loaded_by(tmp_path, code, *args):
    """The modules a fresh interpreter running ``code`` with ``args`` had loaded at exit,
    and what it wrote on stderr."""
    report = tmp_path / "modules.txt"
    done = subprocess.run([sys.executable, "-c", REPORT_MODULES + code, str(report), *args],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          check=False)
    return set(report.read_text().splitlines()), done


def heavy(modules, *packages):
    """The modules that are one of ``packages`` or inside one."""
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in packages))


def test_import_tasktronaut_loads_neither_dependencies_nor_the_builder(tmp_path):
    modules, done = loaded_by(tmp_path, "import tasktronaut; print(tasktronaut.__version__)")
    assert done.returncode == 0, done.stderr
    assert heavy(modules, "loguru", "attr", "attrs", "cattrs", "click", "sqlite3", "asyncio",
                 "typeguard", "tasktronaut.define", "tasktronaut.state",
                 "tasktronaut.engine") == []


def test_version_loads_no_command(tmp_path):
    modules, done = loaded_by(tmp_path, "from tasktronaut.cli import main; main()",
                              "--version")
    assert done.returncode == 0, done.stderr
    assert heavy(modules, "loguru", "attr", "attrs", "cattrs", "tasktronaut.engine",
                 "tasktronaut.model", "tasktronaut.cli.run") == []


def test_a_plain_run_of_a_ready_graph_loads_only_what_it_needs(tmp_path, finished_tea):
    base = finished_tea
    (tmp_path / "pyproject.toml").write_text(PYPROJECT_WITHOUT_TABLE)
    modules, done = loaded_by(tmp_path, "from tasktronaut.cli import main; main()",
                              "run", f"{TEATIME}:a_cup_of_tea", str(base))
    assert done.returncode == 0, done.stderr
    assert "The perfect cup of tea: Ready" in done.stderr
    assert "Summary: 0 run, 2 already ready" in done.stderr
    assert heavy(modules, "loguru", "cattrs", "sqlite3", "rich", "asyncio", "multiprocessing",
                 "opentelemetry", "tasktronaut.background", "tasktronaut.cli.background",
                 "tasktronaut.cli.display", "tasktronaut.cli.progress", "tasktronaut.cli.state",
                 "tasktronaut.cli.report", "tasktronaut.cli.look", "tasktronaut.define.builder",
                 "tasktronaut.define.process", "tasktronaut.state.sqlite",
                 "tasktronaut.state.leases", "tasktronaut.workers.processes",
                 "tomllib") == []


PYPROJECT_WITHOUT_TABLE = '''
[project]
name = "teashop"
dependencies = ["tasktronaut"]

[tool.mypy]
files = ["tasktronaut"]  # tool.ruff, not ours
'''


@pytest.mark.parametrize("text", [
    PYPROJECT_WITHOUT_TABLE,
    "[tool.tasktronaut]\nthreads = 4\n",
    "[ tool . 'tasktronaut' . run ]\ndry-run = true\n",
    "tool.tasktronaut.threads = 4\n",
    "[tool]\ntasktronaut = {threads = 4}\n",
    "[tool]\n\"tasktronaut\".threads = 4\n",
    "tool = {tasktronaut = {threads = 4}}\n",
    "[tool.ruff]\nline-length = 99\n[tool.mypy]\nstrict = true\n",
])
def test_a_pyproject_file_is_parsed_when_it_can_hold_our_table(text):
    import tomllib

    from tasktronaut.cli.config import may_hold_table

    holds = "tasktronaut" in tomllib.loads(text).get("tool", {})
    assert may_hold_table(text) == holds


LOGURU_FLOW = '''
from pathlib import Path

from loguru import logger

from tasktronaut import Asset, task


@task
def touched(path: Path):
    yield "touched"
    yield Asset(path, path.exists)
    yield None
    logger.info("straight through loguru")
    path.touch()
'''


def test_a_workflow_that_uses_loguru_gets_the_sinks_it_always_had(tmp_path):
    (tmp_path / "loguru_flow.py").write_text(LOGURU_FLOW)
    done = subprocess.run(
        [sys.executable, "-m", "tasktronaut", "run", "loguru_flow.py:touched", "out"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    lines = [_untimed(line) for line in done.stderr.splitlines()]
    assert lines[:3] == ["INFO    touched: Executing", "INFO    straight through loguru",
                         "INFO    touched: Ready"]


FLOW = '''
from pathlib import Path

from tasktronaut import Asset, collection, log, task


@task
def made(folder: Path, name: str):
    yield f"made {name}"
    path = folder / name
    yield Asset(path, path.exists)
    yield None
    log.info("%s: making it (100%% sure)", name)
    log.debug("a debug line from the action")
    path.touch()


@task
def broken(folder: Path):
    yield "broken"
    yield Asset(None, lambda: False)
    yield made(folder, "a")
    log.warning("about to fail")
    raise RuntimeError("no luck {braces}")


@collection
def everything(folder: Path):
    yield "everything"
    yield [made(folder, "b"), broken(folder)]
'''


def _untimed(line):
    return re.sub(r"^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\] ", "", line)


def _lines(result, folder):
    """The log lines, without what depends on timing (times, and the order of the slowest)."""
    return [re.sub(r"(Elapsed|Slowest): .*", r"\1", _untimed(line)).replace(str(folder), "FOLDER")
            for line in result.stderr.splitlines()]


@pytest.mark.parametrize("options", [[], ["-v"], ["-q"], ["--log-level", "ERROR"]])
def test_the_stdlib_text_log_shows_what_loguru_sinks_show(tmp_path, monkeypatch, options):
    (tmp_path / "startup_flow.py").write_text(textwrap.dedent(FLOW))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    outputs = []
    for uses_loguru in (False, True):  # the stdlib sink first: loguru stays enabled after
        monkeypatch.setattr("tasktronaut.cli.observe.loguru_in_use", lambda u=uses_loguru: u)
        folder = tmp_path / f"out-{uses_loguru}"
        folder.mkdir()
        result = CliRunner().invoke(cli, ["run", "startup_flow.py:everything", str(folder),
                                          *options])
        assert result.exit_code == 1, result.output
        outputs.append(_lines(result, folder))
    stdlib, loguru = outputs
    assert stdlib == loguru
    if not options:
        assert "INFO    a: making it (100% sure)" in stdlib
        assert "WARNING about to fail" in stdlib
        assert "INFO    Failed: broken: no luck {braces}" in stdlib


def test_a_tasktronaut_table_loads_the_command_run_and_those_it_names(tmp_path):
    from tasktronaut.cli.config import default_map

    (tmp_path / "pyproject.toml").write_text(
        "[tool.tasktronaut]\nthreads = 2\n[tool.tasktronaut.state.list]\nstate = 'x.db'\n")
    modules, done = loaded_by(tmp_path, "from tasktronaut.cli import main; main()",
                              "run", f"{TEATIME}:a_cup_of_tea", "teatime", "--dry-run")
    assert done.returncode == 1, done.stderr
    assert "tomllib" in modules  # the table was read
    assert heavy(modules, "tasktronaut.cli.background", "tasktronaut.cli.look") == []
    # A shared key that only other commands know is theirs, not a mistake.
    (tmp_path / "pyproject.toml").write_text("[tool.tasktronaut]\npoll = 2.5\nthreads = 2\n")
    defaults, _ = default_map(cli, tmp_path, "run")
    assert defaults is not None
    assert defaults["run"] == {"threads": 2}
    assert defaults["worker"]["poll"] == 2.5
