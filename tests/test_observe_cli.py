"""The command line's view of a run: summary, logging options, reports, the report command."""

import json
import sys
import textwrap

import pytest
from click.testing import CliRunner

from tasktronaut.cli import cli

FLOW = textwrap.dedent('''
    from pathlib import Path

    from tasktronaut import ExecutionMode, ProcessDefinition, log


    class Brew(ProcessDefinition):
        """Boil, pour, serve."""

        process_execution_mode = ExecutionMode.SEQUENTIAL

        def define_process(self, builder):
            builder.expected_arguments(folder=str)
            builder.task(self.boil)
            builder.task(self.pour)
            builder.task(self.serve)

        def boil(self, folder):
            log.info("boiling the water")
            print("kettle on")

        def pour(self, folder):
            if (Path(folder) / "broken").exists():
                raise OSError("no water in the kettle\\nsecond line")

        def serve(self, folder):
            pass
''')


@pytest.fixture
def flow(tmp_path, monkeypatch):
    name = f"brew_{tmp_path.name.replace('-', '_')}"
    path = tmp_path / f"{name}.py"
    path.write_text(FLOW)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.chdir(tmp_path)
    return f"{path}:Brew"


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_a_failed_run_names_the_failure_and_what_it_blocks_and_writes_its_report(flow, tmp_path):
    (tmp_path / "broken").touch()
    result = invoke("run", flow, "--arg", f"folder={tmp_path}", "--id", "job",
                    "--state", "state.db", "--report", "run.html")
    assert result.exit_code == 1, result.stderr
    lines = result.stderr.splitlines()
    assert any(line.endswith("Failed: Brew.pour: no water in the kettle") for line in lines)
    assert any(line.endswith("Blocked: 2 task(s), waiting for Brew.pour (failed)")
               for line in lines)
    assert any(line.endswith("Report: run.html") for line in lines)
    page = (tmp_path / "run.html").read_text()
    for name in ("Brew [job]", "Brew.boil", "Brew.pour", "Brew.serve"):
        assert f"data-name='{name}'" in page
    assert "no water in the kettle" in page

    # After the fact, from the state file; then the resume finishes the work.
    after = invoke("report", "--state", "state.db", "--id", "job", "-o", "after.json")
    assert after.exit_code == 0, after.stderr
    data = json.loads((tmp_path / "after.json").read_text())
    states = {n["name"]: n["state"] for n in data["nodes"]}
    assert states == {"Brew.boil": "ready", "Brew.pour": "failed", "Brew.serve": "blocked",
                      "Brew [job]": "blocked"}
    assert data["arguments"] == {"folder": str(tmp_path)}
    (tmp_path / "broken").unlink()
    resumed = invoke("run", flow, "--arg", f"folder={tmp_path}", "--id", "job",
                     "--state", "state.db")
    assert resumed.exit_code == 0, resumed.stderr
    assert "Summary: 2 run, 1 already ready, 0 not ready, 0 failed" in resumed.stderr
    assert invoke("report", "--state", "state.db", "--id", "job", "-o", "last.json").exit_code == 0
    last = json.loads((tmp_path / "last.json").read_text())
    assert last["totals"]["ran"] == 2
    assert last["totals"]["already ready"] == 1


def test_json_log_lines_parse_and_carry_the_run_context(flow, tmp_path):
    result = invoke("run", flow, "--arg", f"folder={tmp_path}", "--id", "job",
                    "--log-format", "json", "--log-file", "run.log")
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line)["record"] for line in result.stderr.splitlines()
               if line.startswith("{")]
    assert records, result.stderr
    run_ids = {r["extra"]["run_id"] for r in records}
    assert len(run_ids) == 1
    assert None not in run_ids
    step = next(r for r in records if r["message"] == "boiling the water")
    assert step["extra"]["task"] == "Brew.boil"
    assert step["extra"]["attempt"] == 1
    assert step["extra"]["identifier"] == "job"
    executing = next(r for r in records if r["message"] == "Brew.pour: Executing")
    assert executing["extra"]["task"] == "Brew.pour"
    assert any(r["message"].startswith("Summary: ") for r in records)
    in_file = [json.loads(line) for line in (tmp_path / "run.log").read_text().splitlines()]
    assert [r["record"]["message"] for r in in_file] == [r["message"] for r in records]


def test_quiet_and_log_level_choose_what_is_logged(flow, tmp_path):
    quiet = invoke("run", flow, "--arg", f"folder={tmp_path}", "-q")
    assert quiet.exit_code == 0
    assert "INFO" not in quiet.stderr
    (tmp_path / "broken").touch()
    failing = invoke("run", flow, "--arg", f"folder={tmp_path}", "--log-level", "error")
    assert failing.exit_code == 1
    assert "ERROR" in failing.stderr
    assert "no water in the kettle" in failing.stderr
    assert "WARNING" not in failing.stderr
    assert "INFO" not in failing.stderr


def test_the_report_command_says_what_is_missing_in_one_line(flow, tmp_path):
    missing = invoke("report", "--state", "none.db", "--id", "job")
    assert missing.exit_code == 2
    assert missing.stderr.strip() == "Error: no state file at none.db"
    invoke("run", flow, "--arg", f"folder={tmp_path}", "--id", "job", "--state", "state.db")
    other = invoke("report", "--state", "state.db", "--id", "other")
    assert other.exit_code == 2
    assert other.stderr.strip() == "Error: no run of 'other' is recorded in state.db"
    written = invoke("report", "--state", "state.db", "--id", "job")
    assert written.exit_code == 0
    assert written.stdout.strip() == "Report: run-job.html"
    assert (tmp_path / "run-job.html").read_text().startswith("<!DOCTYPE html>")


def test_the_demo_watches_a_process_fail_and_resume(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NIGHTLY_PAUSE", "0")
    examples = str(__import__("pathlib").Path(__file__).resolve().parent.parent / "examples")
    monkeypatch.syspath_prepend(examples)
    import demo

    assert demo.watched_process(tmp_path / "out")
    assert (tmp_path / "out" / "published").exists()
    for name in ("first-run.html", "second-run.html", "report.html"):
        assert (tmp_path / "out" / name).read_text().startswith("<!DOCTYPE html>")
    assert "Run report: file://" in capsys.readouterr().out


def test_a_report_that_cannot_be_written_is_refused_before_the_run(flow, tmp_path):
    (tmp_path / "plain-file").touch()
    result = invoke("run", flow, "--arg", f"folder={tmp_path}", "--report", "plain-file/r.html")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: cannot write the report plain-file/r.html: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "kettle on" not in result.stdout  # nothing ran


def test_otel_traces_a_command_line_run(flow, tmp_path):
    pytest.importorskip("opentelemetry")
    result = invoke("run", flow, "--arg", f"folder={tmp_path}", "--otel")
    assert result.exit_code == 0, result.stderr
