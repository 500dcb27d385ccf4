"""Where records go when the application has not configured loguru: the stdlib logger
``tasktronaut``, which pytest's caplog (and Django, Sentry) see; and the plugin module."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from tasktronaut import ProcessDefinition, logcfg

pytestmark = pytest.mark.usefixtures("loguru_reset")


class OneFailingStep(ProcessDefinition):
    def define_process(self, builder):
        builder.task(self.explode)

    def explode(self):
        raise RuntimeError("no water")


def records(caplog) -> list[str]:
    return [f"{r.levelname} {r.getMessage()}" for r in caplog.records if r.name == "tasktronaut"]


def test_without_loguru_records_reach_the_stdlib_logger(caplog):
    caplog.set_level(logging.INFO, logger="tasktronaut")
    OneFailingStep.run("x")
    lines = records(caplog)
    assert "INFO OneFailingStep [x]: Started" in lines
    assert "ERROR OneFailingStep [x]: Step OneFailingStep.explode failed: no water" in lines
    assert any(line.startswith("ERROR OneFailingStep.explode: Task failed") for line in lines)


def test_nothing_is_printed_when_nobody_configured_logging(capfd):
    OneFailingStep.run("x")
    captured = capfd.readouterr()
    assert captured.err == ""
    assert captured.out == ""


def test_after_logcfg_caplog_still_sees_the_records(caplog, capfd):
    logcfg()
    caplog.set_level(logging.INFO, logger="tasktronaut")
    OneFailingStep.run("x")
    assert "ERROR OneFailingStep [x]: Step OneFailingStep.explode failed: no water" in \
        records(caplog)
    assert "Step OneFailingStep.explode failed: no water" in capfd.readouterr().err


def test_the_testing_helpers_import_without_pytest():
    code = ("import sys; sys.modules['pytest'] = None; import tasktronaut.testing as t; "
            "print(t.plan.__name__)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "plan"


def test_the_plugin_offers_the_tasktronaut_fixture(tasktronaut):
    assert tasktronaut.order(OneFailingStep) == ["OneFailingStep.explode"]
