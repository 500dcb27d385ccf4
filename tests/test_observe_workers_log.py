"""Records a step logs in a worker process carry the run's context, as the driver's do."""

from __future__ import annotations

import json
import textwrap

from click.testing import CliRunner

from tasktronaut.cli import cli

FLOW = textwrap.dedent('''
    from tasktronaut import ProcessDefinition, log


    class Remote(ProcessDefinition):
        def define_process(self, builder):
            builder.task(self.far, executor="process")

        def far(self):
            log.info("logged in a worker process")
''')


def test_a_worker_process_record_carries_run_id_identifier_task_and_attempt(tmp_path,
                                                                           monkeypatch):
    name = f"remote_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(FLOW)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["run", f"{tmp_path}/{name}.py:Remote", "-p", "1",
                                      "--id", "job", "--log-format", "json"])
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line)["record"] for line in result.stderr.splitlines()
               if line.startswith("{")]
    far = next(r for r in records if r["message"] == "logged in a worker process")
    run_ids = {r["extra"]["run_id"] for r in records}
    assert far["extra"]["run_id"] in run_ids
    assert far["extra"]["run_id"] is not None
    assert far["extra"]["identifier"] == "job"
    assert far["extra"]["task"] == "Remote.far"
    assert far["extra"]["attempt"] == 1
