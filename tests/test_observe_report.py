"""Run reports: self-contained HTML (checked in a real headless browser) and JSON."""

import json
import os
import re
import shutil
import subprocess

import pytest

from tasktronaut import Asset, collection, external, task
from tasktronaut.cli.report import to_html, write_report
from tasktronaut.engine.facts import RunFacts, RunRecord
from tests.test_observe_facts import replay

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
REQUIRED = bool(os.environ.get("CI") or os.environ.get("TASKTRONAUT_REQUIRE_BROWSER"))


@pytest.fixture
def record():
    @task
    def leaf(n: int):
        yield f'leaf <{n}> "quoted" & more'
        yield Asset(None, lambda: False)
        yield None
        if n == 2:
            raise ValueError("bad </script><b>leaf</b>\nsecond line")

    @external
    def outside():
        yield "outside"
        yield Asset(None, lambda: True)

    @task
    def after():
        yield "after"
        yield Asset(None, lambda: False)
        yield [leaf(2), outside()]

    @collection
    def top(label: str):
        yield "top"
        yield [*(leaf(i) for i in range(4)), after()]

    facts = RunFacts()
    replay(facts, top.build("</script>"))
    return facts.record


def test_the_html_report_is_self_contained_and_escapes_what_it_shows(record):
    page = to_html(record)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "<link" not in page
    assert page.count("<script") == 2  # the data and the script, both inline
    assert "bad </script>" not in page
    assert "bad &lt;/script&gt;&lt;b&gt;leaf&lt;/b&gt;" in page
    assert "<details><summary>" in page  # the traceback is folded
    assert "ValueError: bad" in page
    assert "waits for leaf &lt;2&gt;" in page
    for node in record.nodes:
        assert f"data-name='{node.name}'" in page.replace("&lt;", "<").replace("&gt;", ">") \
            .replace("&quot;", '"').replace("&amp;", "&").replace("&#x27;", "'")


def test_the_json_report_reads_back_as_the_record(record, tmp_path):
    path = write_report(record, tmp_path / "run.json")
    assert RunRecord.from_data(json.loads(path.read_text())) == record


def _dump_dom(path, tmp_path):
    if BROWSER is None:
        if REQUIRED:
            pytest.fail("chromium is required here (CI) but is not installed")
        pytest.skip("chromium is not installed")
    done = subprocess.run(
        [BROWSER, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
         path.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_the_html_report_loads_in_a_headless_browser_and_shows_every_node(record, tmp_path):
    path = write_report(record, tmp_path / "run.html")
    dom = _dump_dom(path, tmp_path)
    assert '<div id="report-error"' not in dom
    marker = re.search(r'<div id="report-ready" data-nodes="(\d+)" data-shown="(\d+)"', dom)
    assert marker is not None, "the report's script did not run to its end"
    assert int(marker[1]) == int(marker[2]) == len(record.nodes) == 7
    for node in record.nodes:
        assert f">{node.name.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')}<" \
            in dom


def test_a_graph_too_large_to_draw_is_listed_in_the_table(monkeypatch, record):
    monkeypatch.setattr("tasktronaut.cli.report.MAX_DRAWN", 3)
    page = to_html(record)
    assert "7 nodes are more than a picture can show" in page
    assert "<g class='node'" not in page
    assert page.count("<tr class='row'") == 7
