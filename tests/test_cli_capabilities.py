"""The command line's run-time capabilities: --resource and --async-limit."""

from __future__ import annotations

import textwrap

from click.testing import CliRunner

from tasktronaut.cli import cli

FLOW = '''
import threading, time
from tasktronaut import ExecutionMode, ProcessDefinition

NOW = {"now": 0, "peak": 0}
LOCK = threading.Lock()


class Queries(ProcessDefinition):
    process_execution_mode = ExecutionMode.CONCURRENT

    def define_process(self, builder):
        for i in range(6):
            builder.task(self.query, description=f"query {i}", resources={"db": 1})
        builder.task(self.peak, description="peak")

    def query(self):
        with LOCK:
            NOW["now"] += 1
            NOW["peak"] = max(NOW["peak"], NOW["now"])
        time.sleep(0.05)
        with LOCK:
            NOW["now"] -= 1

    def peak(self):
        print("peak", NOW["peak"])
'''


def test_resource_limits_from_the_command_line(tmp_path):
    (tmp_path / "flow.py").write_text(textwrap.dedent(FLOW))
    result = CliRunner().invoke(cli, ["run", f"{tmp_path}/flow.py:Queries", "-t", "4",
                                      "--resource", "db=2"])
    assert result.exit_code == 0, result.output
    assert "peak 2" in result.output


def test_a_node_needing_more_than_the_limit_is_a_usage_error(tmp_path):
    (tmp_path / "flow.py").write_text(textwrap.dedent(FLOW))
    result = CliRunner().invoke(cli, ["run", f"{tmp_path}/flow.py:Queries",
                                      "--resource", "db=0"])
    assert result.exit_code == 2
    assert "Error: Task 'query 0' needs 1 of resource 'db' but the run has 0 in all" in (
        result.output)


def test_a_bad_resource_amount_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "flow.py").write_text(textwrap.dedent(FLOW))
    result = CliRunner().invoke(cli, ["run", f"{tmp_path}/flow.py:Queries",
                                      "--resource", "db=many"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == (
        "Error: --resource db=many: the amount must be a whole number >= 0")


def test_a_bad_async_limit_is_a_usage_error(tmp_path):
    (tmp_path / "flow.py").write_text(textwrap.dedent(FLOW))
    result = CliRunner().invoke(cli, ["run", f"{tmp_path}/flow.py:Queries",
                                      "--async-limit", "0"])
    assert result.exit_code == 2
    assert "async_limit must be an integer >= 1, got 0" in result.output
